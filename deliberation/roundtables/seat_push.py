"""Seats pushed once the room is seated: every server process tells its own participants'
sockets their table and a fresh snapshot, one message each, instead of every page asking
with a `join` in the same instant.

A `join` runs a request context, loads the login and makes eight queries: about 6 ms of a
worker. When the lead seats a room of 10,000, every page asked at once, the two workers took
41 s to answer them all and 1,920 pages gave up waiting. A push reads everyone's seat in a
fixed number of queries and only writes to sockets. The page still asks with a `join` if no
push came (`static/js/roundtable-common.js`), so a lost notice costs a delay, not a seat.

Staff sockets (lead, theme team) and projectors are few and need the console's figures: they
rejoin on the `seating` broadcast as before.
"""

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from deliberation.core import memory, notices
from deliberation.extensions import db, socketio
from deliberation.roundtables import queries
from deliberation.roundtables.models import RoundtableSession
from deliberation.roundtables.rooms import NAMESPACE, session_room, table_room

if TYPE_CHECKING:
    from deliberation.roundtables.events import RoundtableNamespace

log = logging.getLogger(__name__)

SEATED_NOTICE = "seated"
#: Sockets written between two yields, so votes, chat and pings keep flowing meanwhile.
YIELD_EVERY = 200

_served: dict[str, Any] = {"namespace": None}


def serve(namespace: "RoundtableNamespace") -> None:
    """The /roundtable namespace whose sockets this process pushes seats to."""
    _served["namespace"] = namespace


def room_seated(session_id: int) -> None:
    """After the seating committed: push here, and tell every other process to push."""
    app = current_app._get_current_object()
    notices.send(app, SEATED_NOTICE, str(session_id))
    socketio.start_background_task(push_seats, app, session_id)


def _seated_elsewhere(app: Flask, body: str) -> None:
    socketio.start_background_task(push_seats, app, int(body))


notices.on(SEATED_NOTICE, _seated_elsewhere)


def push_seats(app: Flask, session_id: int) -> int:
    """Send each participant socket of the session on this process its seat and snapshot
    (the `seat` event, shaped as a `join` acknowledgement); returns how many were sent."""
    namespace = _served["namespace"]
    if namespace is None:
        return 0
    local = {
        sid: seat
        for sid, seat in list(namespace.seats.items())
        if seat.session_id == session_id and seat.participant_id is not None and not seat.staff
    }
    if not local:
        return 0
    with app.app_context():
        try:
            session = db.session.get(RoundtableSession, session_id)
            if session is None:
                return 0
            snapshots = queries.seat_snapshots(session, {s.participant_id for s in local.values()})
        except Exception:  # the pages fall back to asking with a join
            log.exception("seats of session %s not pushed", session_id)
            return 0
        finally:
            db.session.remove()
        pushed = 0
        for sid, seat in local.items():
            snapshot = snapshots.get(seat.participant_id)
            if snapshot is None:  # no longer in the session
                continue
            table_id = snapshot["seat"]["table_id"]
            rooms = (session_room(session_id),)
            if table_id is not None:
                rooms += (table_room(session_id, table_id),)
            new = replace(seat, table_id=table_id, rooms=rooms)
            if not namespace.take_seat(sid, seat, new):
                continue
            ack = {"ok": True, "seat": snapshot["seat"], "staff": False, "snapshot": snapshot}
            socketio.emit("seat", ack, to=sid, namespace=NAMESPACE, ignore_queue=True)
            pushed += 1
            if pushed % YIELD_EVERY == 0:
                socketio.sleep(0)
    memory.settle_after_seated_join()
    return pushed
