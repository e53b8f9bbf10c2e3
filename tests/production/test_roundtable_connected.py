"""The lead's console counts each table's connected sockets on every worker, not only its own.

Each worker publishes its own per-table counts to Redis and the console adds up the live
entries of every worker (deliberation/roundtables/presence.py). Participants of the same
tables connect through worker A and worker B (nginx's route cookie pins each; light
Socket.IO clients over WebSockets), and the lead asks through each worker.
"""

import asyncio
import json
import time
from collections import Counter

import pytest
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole
from deliberation.roundtables.presence import ConnectedCounts, publish, read_totals
from deliberation.roundtables.rooms import NAMESPACE
from tests.production.conftest import session_cookie
from tests.production.helpers import run_async
from tests.production.sio import SioClient
from tests.roundtables.helpers import build_session

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_the_console_adds_up_the_sockets_of_every_worker(stack, stack_app, routes):
    worker_a, worker_b = stack.workers
    with stack_app.app_context():
        info = build_session(participants=20, facilitators=0, table_size=10)
        sid = info["session_id"]
        lead = db.session.get(User, info["lead_id"])
        sessions.seat_room(lead, sessions.get_session(sid))
        db.session.commit()
        seated = db.session.execute(
            select(Participant.user_id, Participant.table_id)
            .where(Participant.session_id == sid, Participant.role == ParticipantRole.PARTICIPANT)
            .order_by(Participant.table_id, Participant.id)
        ).all()
        by_table: dict[int, list[int]] = {}
        for user_id, table_id in seated:
            by_table.setdefault(table_id, []).append(user_id)
        first, second = sorted(by_table)
        # Table 1: four people on worker A, three on B; table 2: two on A, one on B.
        placement = [(uid, worker_a) for uid in by_table[first][:4] + by_table[second][:2]]
        placement += [(uid, worker_b) for uid in by_table[first][4:7] + by_table[second][2:3]]
        cookies = [
            (f"{session_cookie(stack_app, db.session.get(User, uid))}; "
             f"{routes.cookie_for(worker)}", worker)
            for uid, worker in placement
        ]  # fmt: skip
        lead_cookies = [
            f"{session_cookie(stack_app, lead)}; {routes.cookie_for(worker)}"
            for worker in (worker_a, worker_b)
        ]
        db.session.remove()
    redis = stack.redis.client()
    processes_key = f"madang:roundtable:connected:{sid}"
    everyone = {first: 7, second: 3}
    after_b_left = {first: 4, second: 2}

    async def counts(lead: SioClient) -> dict[int, int]:
        ack = await lead.call("console", {"session_id": sid})
        assert ack["ok"], ack
        return {t["id"]: t["connected"] for t in ack["console"]["tables"]}

    async def until(leads: list[SioClient], expected: dict[int, int]) -> float:
        """Seconds until every lead's console shows `expected` (poll, well inside the budget)."""
        started = time.monotonic()
        while True:
            seen = [await counts(lead) for lead in leads]
            if all(s == expected for s in seen):
                return round(time.monotonic() - started, 3)
            assert time.monotonic() - started < 5, (seen, expected)
            await asyncio.sleep(0.1)

    async def scenario() -> dict:
        people = [(SioClient(stack.url, NAMESPACE, c), w) for c, w in cookies]
        leads = [SioClient(stack.url, NAMESPACE, c) for c in lead_cookies]
        try:
            for client, worker in people:
                await client.connect()
                assert stack.worker_for_upstream(client.upstream) is worker
                ack = await client.call("join", {"session_id": sid})
                assert ack["ok"] and ack["seat"]["table_id"] in everyone, ack
            for lead, worker in zip(leads, (worker_a, worker_b), strict=True):
                await lead.connect()
                assert stack.worker_for_upstream(lead.upstream) is worker
                assert (await lead.call("join", {"session_id": sid}))["ok"]
            figures = {"sum_seen_s": await until(leads, everyone)}
            # The snapshot a console takes after a reconnect carries the same figure.
            for lead in leads:
                snap = (await lead.call("snapshot", {"session_id": sid}))["snapshot"]
                assert {t["id"]: t["connected"] for t in snap["console"]["tables"]} == everyone
            # Worker B's sockets close: both consoles drop to worker A's alone.
            started = time.monotonic()
            await asyncio.gather(*(c.close() for c, w in people if w is worker_b))
            await until(leads, after_b_left)
            figures["drop_seen_s"] = round(time.monotonic() - started, 3)
            # Worker B holds no seat any more, so its entry is gone, not just stale.
            assert redis.zcard(processes_key) == 1
            return figures
        finally:
            await asyncio.gather(*(c.close() for c, _w in people), *(x.close() for x in leads))

    figures = run_async(scenario())
    print("CONNECTED", json.dumps(figures))  # noqa: T201 - figures for the report
    # Once everyone has left, neither worker keeps an entry.
    assert wait_until(lambda: redis.zcard(processes_key) == 0)


SESSION = 10**9  # no real session: these entries are written by the test itself


def test_entries_add_up_and_expire_in_the_real_redis(stack):
    client = stack.redis.client()
    publish(client, SESSION, "host-1:11:aa", {1: 3, 2: 1}, ttl_s=1.5)
    publish(client, SESSION, "host-2:22:bb", {1: 2, 3: 0}, ttl_s=30)
    assert read_totals(client, SESSION) == {1: 5, 2: 1}
    assert read_totals(client, SESSION, skip="host-2:22:bb") == {1: 3, 2: 1}
    # The second process's last socket left: its entry goes at once.
    publish(client, SESSION, "host-2:22:bb", {}, ttl_s=30)
    assert read_totals(client, SESSION) == {1: 3, 2: 1}
    publish(client, SESSION, "host-2:22:bb", {2: 4}, ttl_s=30)
    # The first stops writing (as a dead process would): it stops counting after its TTL.
    assert wait_until(lambda: read_totals(client, SESSION) == {2: 4}, timeout=4)
    assert client.pttl(f"madang:roundtable:connected:{SESSION}:host-1:11:aa") == -2


def test_a_live_process_refreshes_its_entry_and_a_stopped_one_drops_out(stack, stack_app):
    stack_app.config["REDIS_URL"] = stack.redis.url  # this process's Redis, no message queue
    here = {"alive": Counter({1: 3}), "dying": Counter({1: 2, 2: 1})}

    def process(name: str) -> ConnectedCounts:
        return ConnectedCounts(
            lambda _sid: here[name].copy(),
            lambda: [SESSION] if here[name] else [],
            ttl_s=1.5,
            refresh_s=0.2,
        )

    alive, dying = process("alive"), process("dying")
    console = ConnectedCounts(lambda _sid: Counter(), lambda: [])
    try:
        alive.changed(stack_app, SESSION)
        dying.changed(stack_app, SESSION)
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 5, 2: 1})
        # A process's own sockets count at once, without waiting for its write.
        here["alive"][1] = 4
        assert alive.totals(stack_app, SESSION) == {1: 6, 2: 1}
        alive.changed(stack_app, SESSION)
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 6, 2: 1})
        dying.stop()
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 4}, timeout=5)
        # Well past the TTL since its first write, the live process still counts.
        time.sleep(1.7)
        assert console.totals(stack_app, SESSION) == {1: 4}
    finally:
        alive.stop()
        dying.stop()
