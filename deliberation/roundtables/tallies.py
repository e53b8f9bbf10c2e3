"""Live room-poll tallies, coalesced: a few broadcasts a second while votes pour in, and the
final tally about 30 ms after the last vote; never one broadcast per vote.

A committed vote marks its poll dirty; the shared coalescer folds the votes that commit
meanwhile into one broadcast. The tally is read from the database at send time, so it is
right with several server processes.
"""

import time
from collections.abc import Hashable

from flask import Flask

from deliberation.core.coalesce import Coalescer
from deliberation.extensions import db, socketio
from deliberation.roundtables import presence
from deliberation.roundtables.models import Poll
from deliberation.roundtables.polls import poll_tally
from deliberation.roundtables.rooms import NAMESPACE, session_room

#: Smallest gap between two tally broadcasts of one poll.
COALESCE_S = 0.1
#: A broadcast is sent this long after the last vote, unless votes keep coming.
QUIET_S = 0.03
#: A broadcast costs this process about this long per recipient (measured with
#: `flask rehearse`: gevent, simple-websocket, 2 cores: queueing, framing and the send);
#: while votes keep coming the gap grows with the room so that broadcasting takes no more
#: than a quarter of the process and the votes keep the rest.
BROADCAST_COST_PER_RECIPIENT_S = 0.00005
BROADCAST_SHARE = 0.25


def broadcast_gap(recipients: int) -> float:
    """Seconds between two tally broadcasts while votes keep coming: 0.2 s at 1,000 people."""
    return max(COALESCE_S, recipients * BROADCAST_COST_PER_RECIPIENT_S / BROADCAST_SHARE)


def _recipients(session_id: int) -> int:
    try:
        return len(socketio.server.manager.rooms[NAMESPACE][session_room(session_id)])
    except (AttributeError, KeyError, TypeError):
        return 0


#: How often a process re-reads how many processes serve a session (presence, in Redis).
PROCESSES_REFRESH_S = 5.0
#: session id -> (processes serving it, when read).
_processes: dict[int, tuple[int, float]] = {}


def _serving_processes(app: Flask, session_id: int) -> int:
    known = _processes.get(session_id)
    if known is None or time.monotonic() - known[1] > PROCESSES_REFRESH_S:
        known = (presence.serving_processes(app, session_id), time.monotonic())
        _processes[session_id] = known
    return known[0]


def _gap_for(key: Hashable) -> float:
    # Every process with voters broadcasts the whole room's tally, and each broadcast reaches
    # every process's sockets through Redis: with K processes a process sends K times the
    # broadcasts of its own coalescer. The gap counts them all (local sockets x K), so a
    # process still spends about a quarter of its time on broadcasts, not K quarters.
    _poll_id, session_id = key  # type: ignore[misc]
    processes = _processes.get(session_id, (1, 0.0))[0]
    return broadcast_gap(_recipients(session_id) * processes)


def _broadcast_tally(app: Flask, key: Hashable) -> None:
    poll_id, session_id = key  # type: ignore[misc]
    with app.app_context():
        try:
            poll = db.session.get(Poll, poll_id)
            if poll is None:
                return
            tally = poll_tally(poll)
        finally:
            db.session.rollback()
            db.session.remove()
    socketio.emit("poll_tally", tally, to=session_room(session_id), namespace=NAMESPACE)


tally_broadcasts = Coalescer(
    COALESCE_S,
    _broadcast_tally,
    quiet_s=QUIET_S,
    interval_for_key=_gap_for,
    cost_factor=1 / BROADCAST_SHARE,
)


def mark_dirty(app: Flask, poll_id: int, session_id: int) -> None:
    """A vote on `poll_id` committed: make sure a tally broadcast follows soon."""
    _serving_processes(app, session_id)
    tally_broadcasts.touch(app, (poll_id, session_id))


def broadcasts_sent() -> int:
    """How many tally broadcasts went out (tests check coalescing)."""
    return tally_broadcasts.flushes
