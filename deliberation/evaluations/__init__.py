"""Participants evaluate the process: anonymous surveys attached to a session or a ballot."""
