"""Short notices between this site's server processes ("poll 12 has new votes"), over Redis.

Socket.IO's message queue carries what goes to sockets; a notice is for the processes
themselves: each acts on it for its own sockets. It is one small Redis PUBLISH on one
channel, `madang:notices`, whatever the number of processes or sockets. Without REDIS_URL
there is one process and nothing is sent.

A notice is best-effort, like everything else through Redis: one lost while Redis is away is
covered by the `resync` every page gets when Redis is back (core/queue_watch.py).

Process-wide state (docs/architecture.md): one listener greenlet per server process and
Redis, started by the first `ensure_listening`; the handlers run with the app that last
asked (tests create many apps).
"""

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask

from deliberation.core.redis_clients import message_queue_redis
from deliberation.extensions import socketio

log = logging.getLogger(__name__)

CHANNEL = "madang:notices"
#: How long the listener waits for a notice before looking at its state again.
LISTEN_S = 1.0
#: Wait before subscribing again after Redis went away.
RETRY_S = 1.0

Handler = Callable[[Flask, str], None]
_handlers: dict[str, Handler] = {}
_lock = threading.Lock()
#: Per Redis URL: the process that listens (a forked child listens anew) and its app.
_listening: dict[str, dict[str, Any]] = {}
_me: dict[str, Any] = {"pid": None, "name": ""}


def process_name() -> str:
    """This process among the site's: unique even if a pid is reused after a restart."""
    if _me["pid"] != os.getpid():
        _me["pid"] = os.getpid()
        _me["name"] = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    return _me["name"]


def on(kind: str, handler: Handler) -> None:
    """Run `handler(app, body)` in this process when another process sends a `kind` notice."""
    _handlers[kind] = handler


def send(app: Flask, kind: str, body: str) -> None:
    """Tell every other process (nothing without a message queue; a Redis error is logged)."""
    client = message_queue_redis(app.config.get("REDIS_URL"))
    if client is None:
        return
    try:
        client.publish(CHANNEL, f"{process_name()} {kind} {body}")
    except redis.RedisError:
        log.warning("notice %s %s not sent: Redis is away", kind, body)


def ensure_listening(app: Flask) -> None:
    """Listen for other processes' notices from now on (once per process and Redis)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    with _lock:
        state = _listening.get(url)
        if state is not None and state["process"] == process_name():
            state["app"] = app
            return
        state = _listening[url] = {"process": process_name(), "app": app}
    socketio.start_background_task(_listen, url, state)


def _listen(url: str, state: dict[str, Any]) -> None:
    while _listening.get(url) is state:
        try:
            pubsub = message_queue_redis(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            try:
                while _listening.get(url) is state:
                    message = pubsub.get_message(timeout=LISTEN_S)
                    if message is not None:
                        _handle(state["app"], message["data"])
            finally:
                pubsub.close()
        except redis.RedisError:
            log.warning("notices: Redis is away; listening again in %.0f s", RETRY_S)
            socketio.sleep(RETRY_S)


def _handle(app: Flask, data: bytes | str) -> None:
    text = data.decode() if isinstance(data, bytes) else data
    sender, _, rest = text.partition(" ")
    kind, _, body = rest.partition(" ")
    handler = _handlers.get(kind)
    if sender == process_name() or handler is None:
        return
    try:
        handler(app, body)
    except Exception:  # the listener must outlive any one handler
        log.exception("notice %s %s failed", kind, body)
