"""Agenda items grouped by division, and their threaded, live discussions."""
