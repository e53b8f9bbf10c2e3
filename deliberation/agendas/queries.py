"""Reads about agenda items and discussions that views, sockets and other features share."""

from typing import Any


def discussion_statistics(item_id: int) -> dict[str, Any]:
    """Counts for an item's discussion: comments, distinct participants, reactions by kind.

    Contract used by proposals (frozen snapshot) and summaries:
    {"comments": int, "participants": int,
     "reactions": {"agree": int, "disagree": int, "pass": int}}
    """
    # Placeholder until the discussion models land; replaced by the agendas feature.
    return {"comments": 0, "participants": 0, "reactions": {"agree": 0, "disagree": 0, "pass": 0}}
