"""Mail's periodic jobs run in tasks of their own: rendering a thousand mails or waiting out an
unreachable mail server must not hold up the scheduler's other jobs (phase timers, ballots).

Process-wide state: one lock per job name, held while that job's task runs, so a job never
overlaps itself in a process. Nothing to reset between tests: each task releases its lock.
"""

import logging
import threading
import time
from collections.abc import Callable

from flask import current_app

from deliberation.extensions import db, socketio

log = logging.getLogger(__name__)

_RUNNING: dict[str, threading.Lock] = {}


def in_background(name: str, work: Callable[[], object]) -> bool:
    """Run `work` in a background task with an app context, committing after it, unless the
    previous run of `name` is still going; returns whether it started."""
    lock = _RUNNING.setdefault(name, threading.Lock())
    if not lock.acquire(blocking=False):
        return False
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        try:
            with app.app_context():
                try:
                    work()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("mail job %s failed", name)
                finally:
                    db.session.remove()
        finally:
            lock.release()

    try:
        socketio.start_background_task(run)
    except BaseException:
        lock.release()
        raise
    return True


def wait_until_idle(timeout_s: float = 30.0) -> bool:
    """Wait for every running mail job to finish (tests, and a clean shutdown)."""
    deadline = time.monotonic() + timeout_s
    for lock in list(_RUNNING.values()):
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
            return False
        lock.release()
    return True
