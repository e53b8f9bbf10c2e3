"""Coalesced live broadcasts: many changes a second become a few flushes, the last one prompt."""

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from deliberation.extensions import socketio

#: Every coalescer in the process, so tests can wait for their flushes before emptying tables.
_EVERY_COALESCER: "weakref.WeakSet[Coalescer]" = weakref.WeakSet()


@dataclass
class _KeyState:
    pending: bool = False
    last_touch: float = 0.0
    last_flush: float = float("-inf")
    cost: float = 0.0
    #: The last touch said more changes are already on their way (see `touch`).
    more_coming: bool = False
    #: Some touch since the last flush said so: a lull must be longer to end it.
    in_burst: bool = False
    #: The key's interval was longer than the smallest at its first change (`large_keys_burst`).
    large: bool = False
    #: A touch since the last flush said no change can follow (see `touch`).
    final: bool = False
    #: A flush of the key is running.
    flushing: bool = False


class Coalescer:
    """Call `flush(app, key)` after changes to `key`: soon after they stop, and now and then
    while they keep coming; never more often than once per `interval_s`.

    `touch(app, key)` marks a key changed. A flush runs once the key has been quiet for
    `quiet_s` (so the final state of a burst goes out promptly), or, under a steady stream of
    changes, once the key's interval has passed since its previous flush; and never sooner
    than `interval_s` after it. A flush always reads fresh state, so no change is lost, and a
    touch during a flush schedules the next one.

    The interval under a steady stream is the largest of `interval_s`, `interval_for_key(key)`
    (e.g. one that grows with the room a broadcast goes to) and `cost_factor` times the last
    flush's duration, capped at `max_interval_s`, so broadcasting never takes more than a
    share of the process while a thousand people vote.

    A caller that writes its changes in batches knows when more are queued, and says so
    (`touch(..., more_coming=True)`). The pause while one batch is written is then no reason
    to flush: the key flushes at its interval. Once a batch leaves nothing queued, a lull
    ends the burst if it lasts `burst_lull_for_key(key)` (a short gap in a burst's arrivals
    does not), or `quiet_s` outside a burst (`in_burst=False` and nothing said to be coming
    since the last flush). (At 5,000 people on two processes every batch of votes was
    followed by a tally to 2,500 sockets: 19 per person in one poll; with this, 2 to 4.)
    The lull is a function of its own: the interval may follow one thing (how often a room
    wants news) and the lull another (how long this process can be busy between two
    batches). Without it a burst ends after `quiet_s`, like any quiet moment.

    `large_keys_burst`: a key whose interval is longer than `interval_s` (a large room) is
    always in a burst. Its first change starts one as if a flush had just run, so the first
    flush waits for the interval or a burst's lull (a poll's first votes in a room of
    thousands: the tally that left 15 ms after the first vote reached every phone while the
    others were still voting), and a flush does not end it (votes trickling in over a minute
    looked like a burst's end after every batch: two tallies a second to everyone).

    A flush never comes sooner than half the interval after the previous one, so changes
    that each end in a lull (votes trickling in) flush at most twice per interval: at most
    twice the share of the process that `cost_factor` allows, and in a room of 1,000 (a
    0.5 s interval) four tallies a second rather than ten.

    A caller may know that no change can follow (`touch(..., final=True)`: the last person
    of the room has voted), and says so once. Waiting for a lull, a gap or any spacing then
    only delays the final state, so the key flushes at once, though never while its previous
    flush still runs (the older state could then reach someone after the final one).
    """

    def __init__(
        self,
        interval_s: float,
        flush: Callable[[Flask, Hashable], Any],
        *,
        quiet_s: float = 0.03,
        interval_for_key: Callable[[Hashable], float] | None = None,
        cost_factor: float = 5.0,
        max_interval_s: float = 2.0,
        large_keys_burst: bool = False,
        burst_lull_for_key: Callable[[Hashable], float] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self.cost_factor = cost_factor
        self.max_interval_s = max_interval_s
        self.large_keys_burst = large_keys_burst
        self._flush = flush
        self._interval_for_key = interval_for_key
        self._burst_lull_for_key = burst_lull_for_key
        self._lock = threading.Lock()
        self._keys: dict[Hashable, _KeyState] = {}
        #: Flush tasks started and not yet finished; notified when it drops to zero.
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        #: Flushes run so far (tests check that changes are coalesced).
        self.flushes = 0
        #: While set, every pending flush is due at once (`wait_until_idle(hurry=True)`).
        self._hurry = False
        #: Wakes the tasks waiting for their flushes' due time; made at the first wait, in
        #: the server's async mode.
        self._wake: Any = None
        _EVERY_COALESCER.add(self)

    def interval_for(self, key: Hashable) -> float:
        """The gap between two flushes of `key` while changes keep coming."""
        with self._lock:
            state = self._keys.get(key)
            cost = state.cost if state else 0.0
        floor = self.interval_s
        if self._interval_for_key is not None:
            floor = max(floor, self._interval_for_key(key))
        return min(self.max_interval_s, max(floor, cost * self.cost_factor))

    def touch(
        self,
        app: Flask,
        key: Hashable,
        *,
        more_coming: bool = False,
        in_burst: bool = False,
        final: bool = False,
    ) -> None:
        """Mark `key` changed. `more_coming`: further changes are already queued (a group
        commit's next batch), so the key flushes at its interval, not after `quiet_s`, until
        a touch without it (the last batch) lets the final state go out promptly.
        `in_burst`: changes are pouring in (a large batch), so a lull must be longer to end
        the burst; `more_coming` implies it. `final`: no further change can come, so the
        key flushes at once, burst or not (it holds until that flush)."""
        new = self.large_keys_burst and key not in self._keys
        gap = self.interval_for(key) if new else 0.0
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                state = self._keys[key] = _KeyState()
                if gap > self.interval_s:
                    # A large room's first change: more are surely coming, so count the
                    # gap from now rather than flushing at the first quiet moment.
                    state.last_flush = time.monotonic()
                    state.in_burst = state.large = True
            state.last_touch = time.monotonic()
            state.more_coming = more_coming
            state.in_burst = state.in_burst or more_coming or in_burst
            state.final = state.final or final
            if state.pending:
                return
            state.pending = True
            self._in_flight += 1
        try:
            socketio.start_background_task(self._run, app, key)
        except BaseException:
            self._finished()
            raise

    def wait_until_idle(self, timeout_s: float, *, hurry: bool = False) -> bool:
        """Wait until no flush is pending or running; returns whether that happened in time.

        `hurry`: run the pending flushes now rather than at their due time (a test is over:
        a room's one-second gap would hold each test's teardown for up to a second)."""
        if hurry:
            with self._lock:
                self._hurry = True
                wake = self._wake
            if wake is not None:
                wake.set()
        try:
            with self._idle:
                return self._idle.wait_for(lambda: self._in_flight == 0, timeout_s)
        finally:
            if hurry:
                with self._lock:
                    self._hurry = False
                    if self._wake is not None:
                        self._wake.clear()

    def _finished(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _due(self, key: Hashable) -> float:
        interval = self.interval_for(key)
        lull = self._burst_lull_for_key(key) if self._burst_lull_for_key is not None else 0.0
        with self._lock:
            if self._hurry:
                return float("-inf")
            state = self._keys[key]
            if state.final:
                return time.monotonic() + self.quiet_s if state.flushing else state.last_touch
            steady = state.last_flush + interval
            quiet = self.quiet_s
            if state.in_burst:
                quiet = max(quiet, lull)
            settled = steady if state.more_coming else min(state.last_touch + quiet, steady)
            spacing = max(self.interval_s, interval / 2)
            return max(state.last_flush + spacing, settled)

    def _sleep(self, seconds: float) -> None:
        """Sleep, unless `wait_until_idle(hurry=True)` wakes every waiting flush."""
        with self._lock:
            if self._wake is None:
                self._wake = socketio.server.eio.create_event()
            wake = self._wake
        wake.wait(seconds)

    def _run(self, app: Flask, key: Hashable) -> None:
        try:
            self._wait_then_flush(app, key)
        finally:
            self._finished()

    def _wait_then_flush(self, app: Flask, key: Hashable) -> None:
        # Sleep until due; touches meanwhile may move the deadline, so look again every
        # `quiet_s`: a later touch may bring it forward (the last batch after announced
        # ones, a final change in a burst's lull).
        while (wait := self._due(key) - time.monotonic()) > 0:
            self._sleep(min(wait, self.quiet_s))
        with self._lock:
            state = self._keys[key]
            state.pending = False  # changes from now on schedule the next flush
            state.final = False
            state.flushing = True
            state.in_burst = state.more_coming or state.large
            started = time.monotonic()
            state.last_flush = started  # the gap counts from the start of a flush
        try:
            self._flush(app, key)
        except Exception:  # a broadcast failing must never break voting
            app.logger.exception("coalesced flush of %s failed", key)
        finally:
            with self._lock:
                state.flushing = False
        with self._lock:
            self.flushes += 1
            state.cost = time.monotonic() - started


def wait_until_idle(timeout_s: float = 30.0, *, hurry: bool = False) -> bool:
    """Wait for every coalescer's pending flushes (tests, before they empty the tables);
    `hurry` runs them now rather than at their due time."""
    deadline = time.monotonic() + timeout_s
    return all(
        coalescer.wait_until_idle(max(deadline - time.monotonic(), 0), hurry=hurry)
        for coalescer in list(_EVERY_COALESCER)
    )
