"""Consensus summaries of agenda items for officials: pages, exports and the Pol.is import."""
