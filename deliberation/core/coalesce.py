"""Coalesced live broadcasts: many changes a second become at most one flush per interval."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask

from deliberation.extensions import socketio


class Coalescer:
    """Call `flush(app, key)` at most once per interval for each key, after the latest change.

    `touch(app, key)` marks a key changed. The first touch schedules one flush; touches that
    arrive before it runs are folded into it. A flush always reads fresh state, so no change
    is lost, and a touch during a flush schedules the next one.

    The interval is the largest of `interval_s`, `interval_for_key(key)` (e.g. one that grows
    with the room a broadcast goes to) and `cost_factor` times the last flush's duration,
    capped at `max_interval_s`, so an expensive flush never takes more than a share of the CPU.
    """

    def __init__(
        self,
        interval_s: float,
        flush: Callable[[Flask, Hashable], Any],
        *,
        interval_for_key: Callable[[Hashable], float] | None = None,
        cost_factor: float = 5.0,
        max_interval_s: float = 2.0,
    ) -> None:
        self.interval_s = interval_s
        self.cost_factor = cost_factor
        self.max_interval_s = max_interval_s
        self._flush = flush
        self._interval_for_key = interval_for_key
        self._lock = threading.Lock()
        self._pending: set[Hashable] = set()
        self._last_flush: dict[Hashable, float] = {}
        self._cost: dict[Hashable, float] = {}
        #: Flushes run so far (tests check that changes are coalesced).
        self.flushes = 0

    def interval_for(self, key: Hashable) -> float:
        with self._lock:
            cost = self._cost.get(key, 0.0)
        floor = self.interval_s
        if self._interval_for_key is not None:
            floor = max(floor, self._interval_for_key(key))
        return min(self.max_interval_s, max(floor, cost * self.cost_factor))

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
            self._pending.discard(key)  # changes from now on schedule the next flush
        started = time.monotonic()
        try:
            self._flush(app, key)
        except Exception:  # a broadcast failing must never break voting
            app.logger.exception("coalesced flush of %s failed", key)
        finished = time.monotonic()
        with self._lock:
            self.flushes += 1
            # The gap counts from the start: a broadcast's own duration is part of its slot.
            self._last_flush[key] = started
            self._cost[key] = finished - started
