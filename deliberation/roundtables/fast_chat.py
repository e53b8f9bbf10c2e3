"""The table chat's hot path: a seated person's plain chat line, written without a Flask
request context, as the vote's fast path is (`seats.py`).

The ordinary `chat_send` builds a request context, loads the login with its roles, reads the
session and the person's seat again, then writes: four queries. When 500 tables speak within
a second, that was most of a worker's time. The seat kept at `join` says who and where; one
INSERT … SELECT writes the line only if, in the same statement, the login still holds, the
person still sits at that table and the session runs. Anything else (a repeat of a client id,
a refusal, an empty or long text, bad input) returns None and goes the ordinary way
(`events.on_chat_send`), which words every answer in the person's language.
"""

import logging
from typing import Any

from flask import Flask
from sqlalchemy import exists, literal, select

from deliberation.accounts.models import User
from deliberation.core.errors import RateLimited
from deliberation.core.sanitize import is_typable, plain_text
from deliberation.core.throttle import enforce
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.roundtables.models import (
    ChatMessage,
    Participant,
    RoundtableSession,
    SessionState,
    insert_ignoring_duplicates,
)
from deliberation.roundtables.payloads import chat_fields
from deliberation.roundtables.rooms import NAMESPACE, staff_room, table_room
from deliberation.roundtables.seats import Seat
from deliberation.roundtables.tables import CHAT_MAX_CHARS

log = logging.getLogger(__name__)

#: The fields of a chat line as the browser sends it (`loadtest.payloads.chat_send`,
#: `static/js/roundtable-room.js`): the only shape the fast path serves.
CHAT_FIELDS = frozenset({"session_id", "text", "client_id"})
#: The per-person limit, shared with the ordinary path.
CHAT_LIMIT = "8 per 10 seconds"


def is_plain_chat(seat: Seat | None, data: Any) -> bool:
    """A seated person's well-formed line for their own session: what the fast path serves."""
    return (
        seat is not None
        and seat.participant_id is not None
        and seat.user_id is not None
        and seat.table_id is not None
        and bool(seat.session_token)
        and isinstance(data, dict)
        and data.keys() == CHAT_FIELDS
        and data["session_id"] == seat.session_id
        and isinstance(data["text"], str)
        and 0 < len(data["text"]) <= CHAT_MAX_CHARS
        and is_typable(data["text"])
        and isinstance(data["client_id"], str)
        and 8 <= len(data["client_id"]) <= 64
        and is_typable(data["client_id"])
    )


def serve(namespace: Any, sid: str, data: Any = None, *extra: Any) -> dict[str, Any] | None:
    """`chat_send` on the /roundtable namespace: the acknowledgement, or None to take the
    ordinary path (the handler in `events.py`)."""
    seat = namespace.seats.get(sid)
    if extra or not is_plain_chat(seat, data):
        return None
    app = namespace.socketio.server.get_environ(sid, namespace=namespace.namespace)["flask.app"]
    return post(app, seat, data)


def post(app: Flask, seat: Seat, data: dict[str, Any]) -> dict[str, Any] | None:
    """Write and send the line; its acknowledgement, or None for the ordinary path."""
    body = plain_text(data["text"]).strip()
    table_id, user_id = seat.table_id, seat.user_id
    if not body or table_id is None or user_id is None:
        return None
    with app.app_context():
        try:
            enforce("roundtable.chat", user_id, CHAT_LIMIT)
        except RateLimited:
            return None  # refused again, and worded, on the ordinary path
        created_at = utcnow()
        try:
            inserted = db.session.execute(_insert(seat, data["client_id"], body, created_at))
            message_id = inserted.scalar()
            db.session.commit()
        except Exception:  # the ordinary path meets the same fault and answers it
            db.session.rollback()
            log.debug("fast chat fell back", exc_info=True)
            return None
        finally:
            db.session.remove()
    if message_id is None:  # a repeat, or a check failed: the ordinary path says which
        return None
    payload = chat_fields(
        message_id, table_id, data["client_id"], seat.display_name, user_id, body, created_at
    )
    socketio.emit(
        "chat_message",
        payload,
        to=[table_room(seat.session_id, table_id), staff_room(seat.session_id)],
        namespace=NAMESPACE,
    )
    return {"ok": True, "message": payload}


def _insert(seat: Seat, client_id: str, body: str, created_at: Any) -> Any:
    """INSERT … SELECT that writes nothing unless the login, the seat and the session hold."""
    login_holds = exists().where(
        User.id == seat.user_id,
        User.session_token == seat.session_token,
        User.is_active_account.is_(True),
    )
    still_seated = exists().where(
        Participant.id == seat.participant_id,
        Participant.session_id == seat.session_id,
        Participant.table_id == seat.table_id,
    )
    running = exists().where(
        RoundtableSession.id == seat.session_id,
        RoundtableSession.state == SessionState.RUNNING,
    )
    row = select(
        literal(seat.session_id),
        literal(seat.table_id),
        literal(seat.user_id),
        literal(client_id),
        literal(body),
        literal(False),
        literal(created_at, type_=ChatMessage.__table__.c.created_at.type),
    ).where(login_holds, still_seated, running)
    columns = ["session_id", "table_id", "author_id", "client_id", "body", "is_broadcast"]
    return insert_ignoring_duplicates(ChatMessage).from_select([*columns, "created_at"], row)
