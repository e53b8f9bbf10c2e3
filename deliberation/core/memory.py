"""Garbage-collector settings for a live server process: no long pauses during a live event.

Measured with `flask rehearse --participants 1000` (gevent, 2 cores): with CPython's default
collector a server holding 1,000 open sockets (about 400,000 tracked objects) spent 0.5 s of
a 2 s room poll in collections, one of them a single 0.33 s full pause, while acks waited.
Three changes keep the collector out of the way:

- at start-up, everything the app built once (modules, routes, templates) is frozen: moved
  out of the collector's sight for good, as it is never garbage;
- the young generation collects every 10,000 net allocations instead of 700, and the older
  ones rarely, so a burst of votes is not interrupted every few milliseconds;
- when a roundtable's room is seated (everyone's connection state now exists), it is frozen
  too; when the session closes, that state is handed back to the collector and collected
  once, so what the event leaves behind (cycles included) is still reclaimed. With several
  processes only one of them runs the seating; every process also freezes once its own
  participants have re-joined their tables and the joins have been quiet for a second
  (measured with two workers: the other process, never settled, paused 0.2-0.6 s in
  collections of its unfrozen sockets while votes waited).

Freezing during the event does not collect first: at 5,000 people a full collection of the
live heap paused a worker for about half a second, and the re-joins go quiet exactly when the
lead starts the discussion (py-spy: 10 % of the chat step). Freezing alone costs nothing;
cyclic garbage frozen with it waits for the close (reference counting frees the rest).

Reference counting frees almost everything anyway; the collector only finds cycles.
"""

import gc
import logging
import time

from deliberation.extensions import socketio

log = logging.getLogger(__name__)

#: Net allocations between two young collections, and collections between older ones.
THRESHOLDS = (10_000, 20, 20)
#: Seconds to wait before settling, so the broadcast that triggered it leaves first.
SETTLE_DELAY_S = 0.5

#: Joins quiet this long: this process's seated participants are back in their seats.
JOINS_QUIET_S = 1.0

#: Only a server process tuned at start-up settles (not tests or CLI commands).
_tuned = {"on": False}


def tune_collector() -> None:
    """Call once when a server process has built its app, before it accepts connections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    _tuned["on"] = True


def settle_live_state_soon() -> None:
    """After a room is seated: freeze in the background, once the seating news is out."""
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
    settle_live_state(collect=release)


def settle_live_state(collect: bool = False) -> None:
    """Freeze the live event's long-lived connection state (after the event: collect first,
    once, to reclaim what it left behind)."""
    started = time.perf_counter()
    if collect:
        gc.collect()
    gc.freeze()
    # Not gc.get_freeze_count(): it walks every frozen object (millions at 5,000 people).
    log.info("froze the live state in %.0f ms", 1000 * (time.perf_counter() - started))


#: When this process last saw a seated join; whether a freeze waits for the joins to go quiet.
_joins = {"last": 0.0, "waiting": False}


def settle_after_seated_join() -> None:
    """A participant joined a seated table in this process: freeze once the joins go quiet."""
    if not _tuned["on"]:
        return
    _joins["last"] = time.monotonic()
    if not _joins["waiting"]:
        _joins["waiting"] = True
        socketio.start_background_task(_settle_when_joins_quiet)


def _settle_when_joins_quiet() -> None:
    # Wait for a quiet second: the room's re-joins are over.
    try:
        while (wait := _joins["last"] + JOINS_QUIET_S - time.monotonic()) > 0:
            socketio.sleep(wait)
    finally:
        _joins["waiting"] = False
    settle_live_state()
