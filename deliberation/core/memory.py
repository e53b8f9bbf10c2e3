"""Garbage-collector settings for a live server process: no long pauses during a live event.

Measured with `flask rehearse --participants 1000` (gevent, 2 cores): with CPython's default
collector a server holding 1,000 open sockets (about 400,000 tracked objects) spent 0.5 s of
a 2 s room poll in collections, one of them a single 0.33 s full pause, while acks waited.
Three changes keep the collector out of the way:

- at start-up, everything the app built once (modules, routes, templates) is frozen: moved
  out of the collector's sight for good, as it is never garbage;
- the young generation collects every 10,000 net allocations instead of 700, and the older
  ones rarely, so a burst of votes is not interrupted every few milliseconds;
- when a roundtable's room is seated (everyone's connection state now exists), a full
  collection runs once and what survives is frozen too; when the session closes, that state
  is handed back to the collector, so what the event leaves behind is still reclaimed.
  With several processes only one of them runs the seating; every process also settles
  once its own participants have re-joined their tables and the joins have gone quiet
  (measured with two workers: the other process, never settled, paused 0.2-0.6 s in
  collections of its unfrozen sockets while votes waited).

Reference counting frees almost everything anyway; the collector only finds cycles.
"""

import gc
import logging
import time
from collections.abc import Hashable

from flask import Flask

from deliberation.core.coalesce import Coalescer
from deliberation.extensions import socketio

log = logging.getLogger(__name__)

#: Net allocations between two young collections, and collections between older ones.
THRESHOLDS = (10_000, 20, 20)
#: Seconds to wait before settling, so the broadcast that triggered it leaves first.
SETTLE_DELAY_S = 0.5

#: Joins quiet this long: this process's seated participants are back in their seats.
JOINS_QUIET_S = 1.0
#: At most one settle per this many seconds while joins keep coming (a full collection
#: pauses the process for a fraction of a second).
JOINS_SETTLE_GAP_S = 30.0

#: Only a server process tuned at start-up settles (not tests or CLI commands).
_tuned = {"on": False}


def tune_collector() -> None:
    """Call once when a server process has built its app, before it accepts connections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    _tuned["on"] = True


def settle_live_state_soon() -> None:
    """After a room is seated: settle in the background, once the seating news is out."""
    if _tuned["on"]:
        socketio.start_background_task(_settle_later, release=False)


def release_live_state_soon() -> None:
    """After a session closes: hand its frozen state back to the collector, then settle."""
    if _tuned["on"]:
        socketio.start_background_task(_settle_later, release=True)


def _settle_later(release: bool) -> None:
    socketio.sleep(SETTLE_DELAY_S)
    if release:
        gc.unfreeze()
    settle_live_state()


def settle_live_state() -> None:
    """Collect once and freeze what survives: the live event's long-lived connection state."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "froze %d long-lived objects in %.0f ms",
        gc.get_freeze_count(),
        1000 * (time.perf_counter() - started),
    )


def _settle_after_joins(_app: Flask, _key: Hashable) -> None:
    settle_live_state()


_joins_settle = Coalescer(
    JOINS_SETTLE_GAP_S,
    _settle_after_joins,
    quiet_s=JOINS_QUIET_S,
    max_interval_s=JOINS_SETTLE_GAP_S,
)


def settle_after_seated_join(app: Flask, session_id: int) -> None:
    """A participant joined a seated table in this process: settle once the joins go quiet."""
    if _tuned["on"]:
        _joins_settle.touch(app, session_id)
