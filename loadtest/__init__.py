"""The live-roundtable load test (`flask rehearse`) and its light Socket.IO client.

Tools, not product: nothing in `deliberation` imports this package at import time, and its
dependencies come with the optional extra (`pip install -e '.[loadtest]'`).
"""
