"""Socket.IO namespace and room names of the roundtables feature."""

# Re-exported: the roundtables modules queue their post-commit work through core's one rule.
from deliberation.core.realtime import call_after_commit

__all__ = [
    "NAMESPACE",
    "call_after_commit",
    "field_office_room",
    "projector_room",
    "session_room",
    "staff_room",
    "table_room",
]

NAMESPACE = "/roundtable"


def session_room(session_id: int) -> str:
    """Everyone in a session (participants, staff, projectors): phases, polls, tallies."""
    return f"session:{session_id}"


def table_room(session_id: int, table_id: int) -> str:
    """The people at one table (and nobody else): its chat, ideas and help flag."""
    return f"table:{session_id}:{table_id}"


def staff_room(session_id: int) -> str:
    """The lead facilitator and the theme team: every table's chat, ideas and help flags."""
    return f"session:{session_id}:staff"


def field_office_room(session_id: int) -> str:
    """Field-office staff in the room page: which tables they may enter paper for."""
    return f"session:{session_id}:field_office"


def projector_room(session_id: int) -> str:
    """The session's projectors (by secret link): what the hall's screen shows beyond polls."""
    return f"session:{session_id}:projector"
