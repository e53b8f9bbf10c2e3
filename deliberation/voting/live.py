"""Coalesced live broadcasts: many changes a second become at most one emit per interval."""

import threading
import time
from collections.abc import Hashable
from functools import partial

from flask import Flask, current_app

from deliberation.core.coalesce import Coalescer
from deliberation.core.realtime import call_after_commit
from deliberation.core.redis_clients import message_queue_redis
from deliberation.extensions import db, socketio
from deliberation.voting import queries
from deliberation.voting.models import Ballot
from deliberation.voting.rooms import NAMESPACE, ballot_room

_broadcast_lock = threading.Lock()


def _room_is_watched(app: Flask, ballot_id: int) -> bool:
    """With a message queue other workers may hold watchers, so always broadcast then."""
    if app.config.get("REDIS_URL") or socketio.server is None:
        return True
    try:
        participants = socketio.server.manager.get_participants(NAMESPACE, ballot_room(ballot_id))
        return next(iter(participants), None) is not None
    except (KeyError, ValueError):
        return False


def _broadcast_turnout(app: Flask, ballot_id: Hashable) -> None:
    if not _room_is_watched(app, int(ballot_id)):
        return
    # One flush at a time in this process, so its broadcasts leave in the order of their seq.
    with _broadcast_lock, app.app_context():
        try:
            # The number is taken before the read: a higher one means a later read.
            seq = next_sequence()
            ballot = db.session.get(Ballot, ballot_id)
            if ballot is None:
                return
            payload = queries.turnout(ballot)
        finally:
            db.session.remove()
        payload["seq"] = seq
        socketio.emit("turnout", payload, to=ballot_room(int(ballot_id)), namespace=NAMESPACE)


#: At most ten turnout broadcasts a second per ballot, whatever the rate of votes.
turnout_broadcasts = Coalescer(0.1, _broadcast_turnout)

_sequence_lock = threading.Lock()
_sequence = [0]
_SEQUENCE_KEY = "madang:voting:seq"


def next_sequence() -> int:
    """A number that grows with every snapshot or broadcast (call it in an app context).

    With a message queue several processes broadcast to the same clients, and a client drops
    a broadcast numbered lower than the last one it applied: the number must then be one
    counter for the whole site (Redis INCR), not one per process, which would make one
    process's news look stale to clients that heard from another (or from before a restart).
    """
    shared = message_queue_redis(current_app.config.get("REDIS_URL"))
    if shared is not None:
        value = int(shared.incr(_SEQUENCE_KEY))
        if value == 1:
            # The counter is new, or lost with a Redis restarted without persistence: start it
            # at the clock in microseconds, above any number handed out before (each takes a
            # Redis round trip, far longer than 1 µs), so pages never take the news for stale
            # (docs/deploy.md). Still an exact integer in JavaScript (below 2^53) until 2255.
            shared.set(_SEQUENCE_KEY, time.time_ns() // 1000)
            value = int(shared.incr(_SEQUENCE_KEY))
        return value
    with _sequence_lock:
        _sequence[0] += 1
        return _sequence[0]


def turnout_changed_after_commit(ballot_id: int) -> None:
    """Mark a ballot's turnout changed; a broadcast is scheduled only if this commits."""
    app = current_app._get_current_object()
    call_after_commit(partial(turnout_broadcasts.touch, app, ballot_id))
