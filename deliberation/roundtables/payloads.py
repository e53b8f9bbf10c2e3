"""What clients are sent about a roundtable: the session's state, chat messages, ideas, themes
and polls, as JSON-ready dicts (the socket events, snapshots and pages share them)."""

from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, url_for

from deliberation.db import as_utc, utcnow
from deliberation.roundtables.models import (
    Broadcast,
    ChatMessage,
    Idea,
    Poll,
    RoundtableSession,
    SessionState,
    Theme,
)


def session_state_payload(session: RoundtableSession) -> dict[str, Any]:
    """What every client shows: state, phase, round and timer (end time and seconds left)."""
    ends_at = as_utc(session.phase_ends_at)
    return {
        "session_id": session.id,
        "seq": session.seq,
        "state": session.state.value,
        "phase": session.phase.value if session.phase else None,
        "round": session.round_no,
        "ends_at": ends_at.isoformat() if ends_at else None,
        "remaining_s": session.remaining_s(),
        "paused": session.paused_remaining_s is not None,
        "server_now": utcnow().isoformat(),
        "seated": session.seated,
        # where everyone goes once the session closed (the room and console link to it)
        "results_url": results_path(session.id) if session.state == SessionState.CLOSED else None,
    }


def results_path(session_id: int, anchor: str | None = None) -> str:
    """The public results page of a session (a path; works outside a request too)."""
    if has_request_context():
        return url_for("roundtables.results", session_id=session_id, _anchor=anchor)
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build("roundtables.results", {"session_id": session_id})
    return f"{path}#{anchor}" if anchor else path


def chat_payload(message: ChatMessage) -> dict[str, Any]:
    return chat_fields(
        message.id, message.table_id, message.client_id, message.author.display_name,
        message.author_id, message.body, message.created_at,
    )  # fmt: skip


def chat_fields(
    message_id: int, table_id: int, client_id: str, author: str, author_id: int, body: str,
    created_at: datetime,
) -> dict[str, Any]:  # fmt: skip
    """A chat message as clients get it (also built straight from what was just written)."""
    return {
        "id": message_id,
        "table_id": table_id,
        "client_id": client_id,
        "author": author,
        "author_id": author_id,
        "body": body,
        "created_at": as_utc(created_at).isoformat(),
    }


def broadcast_payload(broadcast: Broadcast) -> dict[str, Any]:
    """The lead's message to every table, as rooms, projector and console show it."""
    return {
        "id": broadcast.id,
        "session_id": broadcast.session_id,
        "body": broadcast.body,
        "author": broadcast.author.display_name,
        "created_at": as_utc(broadcast.created_at).isoformat(),
    }


def idea_payload(idea: Idea) -> dict[str, Any]:
    return {
        "id": idea.id,
        "table_id": idea.table_id,
        "table_number": idea.table.number if idea.table else None,
        "round": idea.round_no,
        "body": idea.body,
        "client_id": idea.client_id,
        "submitted": idea.submitted_at is not None,
        "theme_id": idea.theme_id,
        #: a paper participant's idea, written down by the facilitator
        "for_participant_id": idea.for_participant_id,
    }


def theme_payload(
    theme: Theme, ideas: list[tuple[int, int | None]] | None = None
) -> dict[str, Any]:
    """A theme; `ideas` (idea id, its table's number), in idea order, when the caller read
    them without loading each idea (snapshots)."""
    if ideas is None:
        ideas = [(idea.id, idea.table.number if idea.table else None) for idea in theme.ideas]
    return {
        "id": theme.id,
        "name": theme.name,
        "description": theme.description,
        "published": theme.published,
        "round": theme.round_no,
        "idea_ids": [idea_id for idea_id, _number in ideas],
        "tables": sorted({number for _id, number in ideas if number is not None}),
    }


def poll_payload(poll: Poll) -> dict[str, Any]:
    closes = as_utc(poll.closes_at)
    return {
        "id": poll.id,
        "session_id": poll.session_id,
        "kind": poll.kind.value,
        "question": poll.question,
        "state": poll.state.value,
        "closes_at": closes.isoformat() if closes else None,
        "options": [{"id": o.id, "label": o.label, "theme_id": o.theme_id} for o in poll.options],
    }
