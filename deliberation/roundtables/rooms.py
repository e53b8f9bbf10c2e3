"""Socket.IO namespace, room names and after-commit hooks of the roundtables feature."""

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from deliberation.extensions import db

NAMESPACE = "/roundtable"
_AFTER_COMMIT_KEY = "roundtable_after_commit"


def session_room(session_id: int) -> str:
    """Everyone in a session (participants, staff, projectors): phases, polls, tallies."""
    return f"session:{session_id}"


def table_room(session_id: int, table_id: int) -> str:
    """The people at one table (and nobody else): its chat, ideas and help flag."""
    return f"table:{session_id}:{table_id}"


def staff_room(session_id: int) -> str:
    """The lead facilitator and the theme team: every table's chat, ideas and help flags."""
    return f"session:{session_id}:staff"


def call_after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` only if, and after, the current transaction commits."""
    db.session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT_KEY, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)
