"""The table chat's hot path: a seated person's plain chat line, written without a Flask
request context and in batches, as the vote's fast path is (`seats.py`, `ballotbox.py`).

The ordinary `chat_send` builds a request context, loads the login with its roles, reads the
session and the person's seat again, then writes and commits: four queries and a pooled
connection per line. When 500 tables speak within a second, the lines queued for the pool's
20 connections (p99 0.9 s). Here the seat kept at `join` says who and where, and the lines go
to one writer per process (`core.group_commit`), which checks every line's login, seat and
session in three queries for the whole batch, inserts them in one statement and commits once.
Anything else (a repeat of a client id, a refusal, an empty or long text, bad input, the
database away) returns None and goes the ordinary way (`events.on_chat_send`), which words
every answer in the person's language.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.core import bulk
from deliberation.core.errors import RateLimited
from deliberation.core.group_commit import Batcher
from deliberation.core.sanitize import is_typable, plain_text
from deliberation.core.throttle import enforce
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.roundtables.models import (
    ChatMessage,
    Participant,
    RoundtableSession,
    SessionState,
)
from deliberation.roundtables.payloads import chat_fields
from deliberation.roundtables.rooms import NAMESPACE, staff_room, table_room
from deliberation.roundtables.seats import Seat
from deliberation.roundtables.tables import CHAT_MAX_CHARS

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


@dataclass
class ChatLine:
    """A plain line from a seat, waiting for its batch; `message_id` is set once written."""

    session_id: int
    table_id: int
    participant_id: int
    user_id: int
    session_token: str
    client_id: str
    body: str
    created_at: datetime
    done: Any = None
    message_id: int | None = None


def post(app: Flask, seat: Seat, data: dict[str, Any]) -> dict[str, Any] | None:
    """Write and send the line; its acknowledgement, or None for the ordinary path."""
    body = plain_text(data["text"]).strip()
    table_id, user_id, participant_id = seat.table_id, seat.user_id, seat.participant_id
    if not body or table_id is None or user_id is None or participant_id is None:
        return None
    with app.app_context():
        try:
            enforce("roundtable.chat", user_id, CHAT_LIMIT)
        except RateLimited:
            return None  # refused again, and worded, on the ordinary path
    line = ChatLine(
        seat.session_id, table_id, participant_id, user_id, seat.session_token or "",
        data["client_id"], body, utcnow(),
    )  # fmt: skip
    if not _batches.wait_for_batch(app, line) or line.message_id is None:
        # not written: a repeat, a check that failed, the database away or too slow; the
        # ordinary path meets the same and answers it in the person's words
        return None
    payload = chat_fields(
        line.message_id, table_id, line.client_id, seat.display_name, user_id, body,
        line.created_at,
    )  # fmt: skip
    socketio.emit(
        "chat_message",
        payload,
        to=[table_room(seat.session_id, table_id), staff_room(seat.session_id)],
        namespace=NAMESPACE,
    )
    return {"ok": True, "message": payload}


def _write(batch: list[ChatLine]) -> None:
    """One transaction for the batch: the lines whose login, seat and session hold are
    inserted (a repeat of a client id is skipped by UNIQUE(author, client id)); the others
    keep no `message_id` and take the ordinary path."""
    logins = {
        (user_id, token)
        for user_id, token in db.session.execute(
            select(User.id, User.session_token).where(
                User.id.in_({line.user_id for line in batch}), User.is_active_account.is_(True)
            )
        )
    }
    seats = {
        (participant_id, table_id)
        for participant_id, table_id in db.session.execute(
            select(Participant.id, Participant.table_id).where(
                Participant.id.in_({line.participant_id for line in batch})
            )
        )
    }
    running = set(
        db.session.scalars(
            select(RoundtableSession.id).where(
                RoundtableSession.id.in_({line.session_id for line in batch}),
                RoundtableSession.state == SessionState.RUNNING,
            )
        )
    )
    accepted = {
        (line.user_id, line.client_id): line
        for line in batch
        if (line.user_id, line.session_token) in logins
        and (line.participant_id, line.table_id) in seats
        and line.session_id in running
    }
    written = bulk.insert_rows(
        ChatMessage.__table__,
        [
            {
                "session_id": line.session_id,
                "table_id": line.table_id,
                "author_id": line.user_id,
                "client_id": line.client_id,
                "body": line.body,
                "is_broadcast": False,
                "created_at": line.created_at,
            }
            for line in accepted.values()
        ],
        skip_duplicates=True,
        returning=(ChatMessage.id, ChatMessage.author_id, ChatMessage.client_id),
    )
    db.session.commit()
    for message_id, author_id, client_id in written:
        accepted[(author_id, client_id)].message_id = message_id


def _leave_unwritten(batch: list[ChatLine], error: Exception) -> None:
    """Nothing of the batch was committed: each line takes the ordinary path."""
    for line in batch:
        line.message_id = None


#: One writer per process: at 500 lines a second, a transaction and a pooled connection each
#: made the wait for a connection the line's largest delay (p50 39 ms, p99 0.9 s).
_batches: Batcher[ChatLine] = Batcher("chat lines", _write, _leave_unwritten, wait_s=10.0)
