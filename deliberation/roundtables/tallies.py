"""Live room-poll tallies, coalesced: a few broadcasts a second while votes pour in, and the
final tally about 30 ms after the last vote; never one broadcast per vote.

A committed vote marks its poll dirty; the shared coalescer folds the votes that commit
meanwhile into one broadcast. The tally is read from the database at send time, so it is
right with several server processes.
"""

from collections.abc import Hashable

from flask import Flask

from deliberation.core.coalesce import Coalescer
from deliberation.extensions import db, socketio
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


def _gap_for(key: Hashable) -> float:
    _poll_id, session_id = key  # type: ignore[misc]
    return broadcast_gap(_recipients(session_id))


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
    tally_broadcasts.touch(app, (poll_id, session_id))


def broadcasts_sent() -> int:
    """How many tally broadcasts went out (tests check coalescing)."""
    return tally_broadcasts.flushes
