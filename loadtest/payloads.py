"""What the browser's roundtable pages send, event by event: the rehearsal builds every payload
here, so its clients send exactly what people's browsers send (STYLE.md, habit 13).

Each function mirrors one `live.send(...)` call in `static/js/roundtable-*.js` (which adds
`session_id` first, as `Live.send` in `roundtable-common.js` does); keys and value types are
checked against a real Chromium's frames by `tests/browser/test_rehearsal_payloads.py`, which
fails the moment a page and this module differ.
"""

from typing import Any

#: After the room is seated, a participant's page waits this long (up to twice it, at random)
#: for its pushed seat before asking with a join: `SEAT_PUSH_WAIT_MS` in roundtable-common.js.
SEAT_PUSH_WAIT_S = 10.0

#: The WebSocket extensions a browser offers in its handshake (Chromium's
#: Sec-WebSocket-Extensions header, checked by tests/browser/test_rehearsal_payloads.py): the
#: server, not the client, decides whether messages are compressed, so the rehearsal offers
#: what people's browsers offer.
WEBSOCKET_EXTENSIONS = "permessage-deflate; client_max_window_bits"


def join(session_id: int) -> dict[str, Any]:
    """Every page after (re)connecting: take one's seat and get the snapshot."""
    return {"session_id": session_id}


def snapshot(session_id: int) -> dict[str, Any]:
    """live.js's catch-up (a gap in `seq`, or `resync` after the server's Redis was away)."""
    return {"session_id": session_id}


def chat_send(session_id: int, text: str, client_id: str) -> dict[str, Any]:
    """A participant's chat message to their table (roundtable-room.js)."""
    return {"session_id": session_id, "text": text, "client_id": client_id}


def idea_add(session_id: int, table_id: int, text: str, client_id: str) -> dict[str, Any]:
    """A table facilitator records an idea (roundtable-room.js)."""
    return {"session_id": session_id, "table_id": table_id, "text": text, "client_id": client_id}


def ideas_submit(session_id: int, table_id: int) -> dict[str, Any]:
    """A table facilitator sends the table's ideas to the theme team (roundtable-room.js)."""
    return {"session_id": session_id, "table_id": table_id}


def poll_vote(
    session_id: int, poll_id: int, option_id: int, client_id: str, *, change: bool = False
) -> dict[str, Any]:
    """A choose-one vote (roundtable-poll.js): `change` is false for a first vote."""
    return {
        "session_id": session_id,
        "poll_id": poll_id,
        "client_id": client_id,
        "change": change,
        "option_id": option_id,
    }


def console_action(session_id: int) -> dict[str, Any]:
    """The console's plain buttons (open the lobby, seat the room, start, close)."""
    return {"session_id": session_id}


def phase_set(session_id: int, phase: str, duration_s: int | None = None) -> dict[str, Any]:
    """The lead moves the room to a phase, with a timer when minutes are given."""
    data: dict[str, Any] = {"session_id": session_id, "phase": phase}
    if duration_s:
        data["duration_s"] = duration_s
    return data


def theme_create(
    session_id: int, name: str, idea_ids: list[int], description: str = ""
) -> dict[str, Any]:
    """The theme team groups ideas into a theme (roundtable-themes.js)."""
    return {
        "session_id": session_id,
        "name": name,
        "description": description,
        "idea_ids": idea_ids,
    }


def themes_publish(session_id: int) -> dict[str, Any]:
    """The theme team publishes the themes to the room."""
    return {"session_id": session_id}


def poll_open(
    session_id: int,
    kind: str,
    question: str,
    options: list[str] | None = None,
    duration_s: int | None = None,
) -> dict[str, Any]:
    """The lead opens a room poll (the console always sends its option lines, maybe none)."""
    data: dict[str, Any] = {
        "session_id": session_id,
        "kind": kind,
        "question": question,
        "options": list(options or []),
    }
    if duration_s:
        data["duration_s"] = duration_s
    return data


def poll_close(session_id: int, poll_id: int) -> dict[str, Any]:
    """The lead closes the open poll."""
    return {"session_id": session_id, "poll_id": poll_id}
