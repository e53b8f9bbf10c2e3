"""Accounts: people, their roles, member categories and divisions, and logging in."""
