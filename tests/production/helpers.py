"""Clients shared by the production-stack tests."""

import asyncio
import statistics
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import socketio

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Phase, RoundtableSession
from tests.production.conftest import session_cookie
from tests.roundtables.helpers import build_session


class Watcher:
    """A python-socketio client that records when each event arrives."""

    def __init__(self, url: str, cookie: str, namespace: str, events: list[str]) -> None:
        self.client = socketio.Client(reconnection=False)
        self.namespace = namespace
        self.received: list[tuple[float, str, dict]] = []
        self.arrived = threading.Condition()
        for name in events:
            self.client.on(name, self._recorder(name), namespace=namespace)
        self.client.connect(
            url, headers={"Cookie": cookie}, namespaces=[namespace], wait_timeout=15
        )

    def _recorder(self, name: str):
        def record(data):
            with self.arrived:
                self.received.append((time.perf_counter(), name, data))
                self.arrived.notify_all()

        return record

    def wait_for(self, count: int, timeout: float = 10) -> float:
        """Wait until `count` events arrived; return the arrival time of the last one."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout), (
                f"only {len(self.received)} of {count} events arrived"
            )
            return self.received[count - 1][0]

    def wait_until_last(self, predicate, timeout: float = 10) -> dict:
        """Wait until the latest event's payload satisfies `predicate` (an event sent before the
        test's last wait may still be on its way); return that payload."""
        with self.arrived:
            self.arrived.wait_for(
                lambda: bool(self.received) and predicate(self.received[-1][2]), timeout
            )
            return self.received[-1][2] if self.received else {}

    def call(self, event: str, data: dict) -> dict:
        return self.client.call(event, data, namespace=self.namespace, timeout=15)


def summary(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
    }


def run_async(scenario: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API (browser tests in the same
    session) keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario).result()


def running_session(
    app, phases: tuple[Phase, ...] = (Phase.DISCUSSION,), participants: int = 5
) -> dict:
    """A seated, running session moved through `phases`; the people's and the lead's cookies."""
    with app.app_context():
        info = build_session(participants=participants, facilitators=1, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.seat_room(lead, session)
        sessions.start_session(lead, session)
        for phase in phases:
            sessions.set_phase(lead, session, phase)
        db.session.commit()
        people = [db.session.get(User, uid) for uid in info["people"]]
        info["cookies"] = [session_cookie(app, person) for person in people]
        info["lead_cookie"] = session_cookie(app, lead)
        db.session.remove()
    return info
