"""Ballots on agenda items: one person, one vote, verifiable receipts and tallies."""
