"""Group commit: many small writes from many greenlets, one short transaction per batch.

When a room of 5,000 votes or its 500 tables chat within a second, a transaction each means
thousands of round trips and commits, and thousands of greenlets queueing for a pool of 20
connections (measured for the chat: the wait for a connection was the line's largest delay,
p99 0.9 s). A `Batcher` queues the requests of one process; a single background task takes
what has queued (at most `max_batch`), writes it in one transaction with one connection, and
wakes every waiter. While it writes, the next batch gathers. A request waits at most
`wait_s`; what `write` sets on each request is the answer.
"""

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import Flask
from sqlalchemy.engine import Connection

from deliberation.extensions import db, socketio

log = logging.getLogger(__name__)

Request = TypeVar("Request")


@dataclass
class _Queue(Generic[Request]):
    items: list[Request] = field(default_factory=list)
    running: bool = False


class Batcher(Generic[Request]):
    """Write queued requests in batches, one transaction each (see the module's docstring).

    `write(batch)` runs in an app context and commits; what it returns goes to
    `after(app, result, batch)` once the waiters are woken. If it raises, nothing of the batch was
    committed and `fail(batch, error)` marks every request refused.
    Requests need a `done` attribute (set here to an event of the server's async mode).

    With `hold_connection`, `write(batch, connection)` gets one connection for a whole run of
    batches (while requests keep queueing) and commits on it itself; after a failure the next
    batch gets a fresh one. Each batch otherwise checks a connection
    out of the pool and back, with the pool's ping: one round trip of seven, and a seventh of
    a vote batch's time, that many small batches (votes from two workers) pay again and again.
    """

    def __init__(
        self,
        name: str,
        write: Callable[..., Any],
        fail: Callable[[list[Request], Exception], None],
        *,
        after: Callable[[Flask, Any, list[Request]], None] | None = None,
        max_batch: int = 500,
        wait_s: float = 30.0,
        hold_connection: bool = False,
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.hold_connection = hold_connection
        self._write = write
        self._fail = fail
        self._after = after
        self._lock = threading.Lock()
        #: One queue per app (tests create many apps in one process).
        self._queues: dict[int, _Queue[Request]] = {}

    def queued(self, app: Flask) -> int:
        """How many requests wait for a later batch."""
        with self._lock:
            queue = self._queues.get(id(app))
            return len(queue.items) if queue else 0

    def has_queued(self, app: Flask) -> bool:
        """Whether requests are waiting for a later batch (more writes are on their way)."""
        return self.queued(app) > 0

    def wait_for_batch(self, app: Flask, request: Request) -> bool:
        """Queue `request` and wait until its batch is written: False if not within wait_s.

        Needs no request context (the fast paths have none)."""
        request.done = socketio.server.eio.create_event()  # type: ignore[attr-defined]
        with self._lock:
            queue = self._queues.setdefault(id(app), _Queue())
            queue.items.append(request)
            start = not queue.running
            queue.running = True
        if start:
            socketio.start_background_task(self._write_batches, app, queue)
        return bool(request.done.wait(self.wait_s))  # type: ignore[attr-defined]

    def _write_batches(self, app: Flask, queue: _Queue[Request]) -> None:
        connection: Connection | None = None
        try:
            while True:
                with self._lock:
                    batch = queue.items[: self.max_batch]
                    queue.items = queue.items[self.max_batch :]
                    if not batch:
                        queue.running = False
                        return
                result, written = None, False
                with app.app_context():
                    try:
                        if self.hold_connection:
                            connection = connection or db.engine.connect()
                            result = self._write(batch, connection)
                        else:
                            result = self._write(batch)
                        written = True
                    except Exception as error:
                        log.exception("writing %d %s failed", len(batch), self.name)
                        with contextlib.suppress(Exception):  # the connection may be gone too
                            db.session.rollback()
                        connection = _closed(connection)
                        self._fail(batch, error)
                    finally:
                        db.session.remove()
                for request in batch:
                    request.done.set()  # type: ignore[attr-defined]
                if written and self._after is not None:
                    self._after(app, result, batch)
                socketio.sleep(0)  # let the woken handlers send their answers
        finally:
            _closed(connection)


def _closed(connection: Connection | None) -> None:
    """Give `connection` back to the pool (None: nothing to give)."""
    if connection is not None:
        with contextlib.suppress(Exception):  # the database may be gone
            connection.close()
