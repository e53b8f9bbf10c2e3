"""Watches the Socket.IO message queue (Redis) so that a Redis outage heals by itself.

While Redis is away no broadcast crosses it, not even to this process's own sockets (with a
message queue every broadcast goes through it), and python-socketio's listener retries with
its own backoff (1, 2, 4 ... s) before it subscribes again; whatever was published meanwhile
is gone, and Redis restarted without persistence has forgotten the socket index. So, once a
process sees its listener subscribed again on a Redis that answers, it (1) lists its sockets
in the socket index again and (2) sends every one of its own sockets `resync` directly (not
through the queue): each page asks for a fresh snapshot, after a random delay so that a full
room does not ask in the same instant. The roundtables' connected counts come back with their
own refresh (presence.REFRESH_S).

Process-wide state (docs/architecture.md): one watcher greenlet per server process, started
with its first socket when there is a message queue; `reset()` forgets it (tests).
"""

import logging
import threading
from typing import Any

import redis

from deliberation.extensions import socketio

log = logging.getLogger(__name__)

#: How often the watcher looks at Redis and at the listener.
WATCH_S = 0.5
#: The event every socket of this process gets after an outage (docs/realtime.md).
RESYNC_EVENT = "resync"

_lock = threading.Lock()
_state: dict[str, Any] = {"running": False, "recoveries": 0}


def ensure_watching(client: redis.Redis) -> None:
    """Start this process's watcher once (a socket connected and there is a message queue)."""
    with _lock:
        if _state["running"]:
            return
        _state["running"] = True
    socketio.start_background_task(_watch, client)


def recoveries() -> int:
    """How many outages this process has healed (tests, logs)."""
    return _state["recoveries"]


def reset() -> None:
    """Forget the watcher (tests create many apps; the greenlet stops with its process)."""
    _state.update(running=False, recoveries=0)


def _listener(manager: Any) -> Any:
    """python-socketio's RedisManager keeps its subscription in `pubsub` and replaces it with a
    new object each time its listener reconnects (pinned by tests/production/test_faults.py)."""
    return getattr(manager, "pubsub", None)


def _watch(client: redis.Redis) -> None:
    healthy = _listener(socketio.server.manager)
    away = False
    while _state["running"]:
        socketio.sleep(WATCH_S)
        try:
            client.ping()
        except redis.RedisError:
            if not away:
                log.warning("Redis is away: broadcasts pause until it is back")
            away = True
            continue
        listener = _listener(socketio.server.manager)
        if listener is None or listener is healthy or not listener.subscribed:
            continue  # no outage, or the listener has not subscribed again yet
        healthy, away = listener, False
        try:
            _recover()
        except Exception:  # the watcher must outlive any one recovery
            log.exception("recovering after a Redis outage failed")


def _recover() -> None:
    """The listener subscribed again: list the sockets again and let every page catch up."""
    _state["recoveries"] += 1
    sockets = 0
    for namespace, handler in list(socketio.server.namespace_handlers.items()):
        reindex = getattr(handler, "reindex_sockets", None)
        if reindex is not None:
            sockets += reindex()
        socketio.server.emit(RESYNC_EVENT, {}, namespace=namespace, ignore_queue=True)
    log.warning("Redis is back: %d sockets listed again, every page asked to resync", sockets)
