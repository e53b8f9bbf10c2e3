"""Coalesced live broadcasts: many changes a second become at most one emit per interval."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from deliberation.extensions import db, socketio
from deliberation.voting import queries
from deliberation.voting.models import Ballot

#: The voting feature's Socket.IO namespace.
NAMESPACE = "/voting"

_DIRTY_KEY = "madang_voting_dirty_ballots"
_APP_KEY = "madang_voting_app"


def ballot_room(ballot_id: int) -> str:
    """Everyone watching one ballot's live turnout."""
    return f"ballot:{ballot_id}"


class Coalescer:
    """Call `flush(app, key)` at most once per interval for each key, after the latest change.

    `touch(key)` marks a key changed. The first touch schedules one flush; touches that arrive
    before it runs are folded into it. A flush always reads fresh state, so none is lost.
    The interval is `interval_s`, or `cost_factor` times the last flush's duration if that is
    longer, so an expensive flush (a huge ballot) never takes more than a share of the CPU.
    """

    def __init__(
        self,
        interval_s: float,
        flush: Callable[[Flask, Hashable], Any],
        *,
        cost_factor: float = 5.0,
        max_interval_s: float = 2.0,
    ) -> None:
        self.interval_s = interval_s
        self.cost_factor = cost_factor
        self.max_interval_s = max_interval_s
        self._flush = flush
        self._lock = threading.Lock()
        self._pending: set[Hashable] = set()
        self._last_flush: dict[Hashable, float] = {}
        self._cost: dict[Hashable, float] = {}

    def interval_for(self, key: Hashable) -> float:
        with self._lock:
            cost = self._cost.get(key, 0.0)
        return min(self.max_interval_s, max(self.interval_s, cost * self.cost_factor))

    def touch(self, app: Flask, key: Hashable) -> None:
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        socketio.start_background_task(self._run, app, key)

    def _run(self, app: Flask, key: Hashable) -> None:
        interval = self.interval_for(key)
        with self._lock:
            wait = self._last_flush.get(key, float("-inf")) + interval - time.monotonic()
        if wait > 0:
            socketio.sleep(wait)
        with self._lock:
            self._pending.discard(key)
        started = time.monotonic()
        try:
            self._flush(app, key)
        except Exception:  # a broadcast failing must never break voting
            app.logger.exception("coalesced flush of %s failed", key)
        finished = time.monotonic()
        with self._lock:
            self._last_flush[key] = finished
            self._cost[key] = finished - started


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
    with app.app_context():
        try:
            ballot = db.session.get(Ballot, ballot_id)
            if ballot is None:
                return
            payload = queries.turnout(ballot)
        finally:
            db.session.remove()
    payload["seq"] = next_sequence()
    socketio.emit("turnout", payload, to=ballot_room(int(ballot_id)), namespace=NAMESPACE)


#: At most ten turnout broadcasts a second per ballot, whatever the rate of votes.
turnout_broadcasts = Coalescer(0.1, _broadcast_turnout)

_sequence_lock = threading.Lock()
_sequence = [0]


def next_sequence() -> int:
    """A number that grows with every snapshot or broadcast of this process."""
    with _sequence_lock:
        _sequence[0] += 1
        return _sequence[0]


def turnout_changed_after_commit(session: Session, ballot_id: int) -> None:
    """Mark a ballot's turnout changed; a broadcast is scheduled only if this commits."""
    session.info.setdefault(_DIRTY_KEY, set()).add(ballot_id)
    session.info.setdefault(_APP_KEY, current_app._get_current_object())


@event.listens_for(Session, "after_commit")
def _schedule_turnout(session: Session) -> None:
    dirty = session.info.pop(_DIRTY_KEY, None)
    app = session.info.pop(_APP_KEY, None)
    if dirty and app is not None:
        for ballot_id in dirty:
            turnout_broadcasts.touch(app, ballot_id)


@event.listens_for(Session, "after_rollback")
def _forget_turnout(session: Session) -> None:
    session.info.pop(_DIRTY_KEY, None)
    session.info.pop(_APP_KEY, None)
