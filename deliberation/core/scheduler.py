"""Periodic jobs run inside the server process (closing due ballots, ending phase timers)."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from deliberation.extensions import db, socketio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_s: float
    run: Callable[[], object]


_JOBS: dict[str, PeriodicJob] = {}


def periodic(name: str, every_s: float) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Declare a job the server runs every `every_s` seconds in its own transaction."""

    def decorator(fn: Callable[[], object]) -> Callable[[], object]:
        _JOBS[name] = PeriodicJob(name, every_s, fn)
        return fn

    return decorator


def run_due_jobs_once(app: Flask, last_run: dict[str, float]) -> None:
    now = time.monotonic()
    for job in _JOBS.values():
        if now - last_run.get(job.name, 0.0) < job.every_s:
            continue
        last_run[job.name] = now
        with app.app_context():
            try:
                job.run()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("periodic job %s failed", job.name)


def start_scheduler(app: Flask) -> None:
    """Run every declared job forever in a background task of the Socket.IO server."""

    def loop() -> None:
        last_run: dict[str, float] = {}
        while True:
            run_due_jobs_once(app, last_run)
            socketio.sleep(0.5)

    socketio.start_background_task(loop)
