"""Operator scripts: the local production-shaped stack and the scheduler process."""
