"""Live tallies, coalesced: at most one broadcast per poll every 100 ms, never one per vote.

A committed vote marks its poll dirty. If no broadcast is pending, one is scheduled for the
next free slot (100 ms after the previous one); votes that commit meanwhile ride along. The
tally is read from the database at send time, so it is right with several server processes.
"""

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask

from deliberation.extensions import db, socketio
from deliberation.roundtables.models import Poll
from deliberation.roundtables.rooms import NAMESPACE, session_room
from deliberation.roundtables.services import poll_tally

log = logging.getLogger(__name__)

#: Smallest gap between two tally broadcasts of one poll.
COALESCE_S = 0.1
#: A broadcast costs this process about this long per recipient (measured: gevent, 2 cores);
#: the gap grows with the room so broadcasting never takes more than ~30 % of the process.
BROADCAST_COST_PER_RECIPIENT_S = 0.00003
BROADCAST_SHARE = 0.3


def broadcast_gap(recipients: int) -> float:
    """Seconds between two tally broadcasts: 0.1 s up to ~1,000 recipients, more beyond."""
    return max(COALESCE_S, recipients * BROADCAST_COST_PER_RECIPIENT_S / BROADCAST_SHARE)


def _recipients(session_id: int) -> int:
    try:
        return len(socketio.server.manager.rooms[NAMESPACE][session_room(session_id)])
    except (AttributeError, KeyError, TypeError):
        return 0


@dataclass
class _PollBroadcast:
    pending: bool = False
    last_sent: float = 0.0


_state: dict[tuple[int, int], _PollBroadcast] = {}
_lock = threading.Lock()


def broadcasts_sent() -> int:
    """How many tally broadcasts went out (tests check coalescing)."""
    return _counter["sent"]


_counter = {"sent": 0}


def mark_dirty(app: Flask, poll_id: int, session_id: int) -> None:
    """A vote on `poll_id` committed: make sure a tally broadcast follows soon."""
    key = (id(app), poll_id)
    with _lock:
        state = _state.setdefault(key, _PollBroadcast())
        if state.pending:
            return
        state.pending = True
        gap = broadcast_gap(_recipients(session_id))
        delay = max(0.0, state.last_sent + gap - time.monotonic())
    socketio.start_background_task(_send_later, app, poll_id, key, delay)


def _send_later(app: Flask, poll_id: int, key: tuple[int, int], delay: float) -> None:
    socketio.sleep(delay)
    with _lock:
        state = _state[key]
        state.pending = False  # votes committing from now on schedule the next broadcast
        state.last_sent = time.monotonic()
    with app.app_context():
        try:
            poll = db.session.get(Poll, poll_id)
            if poll is None:
                return
            tally = poll_tally(poll)
            session_id = poll.session_id
        except Exception:
            log.exception("tally for poll %s failed", poll_id)
            return
        finally:
            db.session.rollback()
            db.session.remove()
    _counter["sent"] += 1
    socketio.emit("poll_tally", tally, to=session_room(session_id), namespace=NAMESPACE)
