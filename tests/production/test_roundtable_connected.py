"""The lead's console counts each table's connected people on every worker, not only its own.

Each worker publishes who is connected there ({user id: table id}) to Redis and the console
counts the people of every worker's live entry, each once (deliberation/roundtables/
presence.py); the people page's "connected" filter reads the same. Participants of the same
tables connect through worker A and worker B (nginx's route cookie pins each; light
Socket.IO clients over WebSockets), and the lead asks through each worker.
"""

import asyncio
import json
import re
import time

import pytest
import requests
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole
from deliberation.roundtables.presence import (
    LOBBY,
    ConnectedCounts,
    publish,
    read_people,
    read_totals,
)
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


def entries(redis, session_id: int) -> list[dict[int, int]]:
    """Every worker's published entry of the session, {user id: table id}."""
    key = f"madang:roundtable:connected:{session_id}"
    return [
        {int(user): int(table) for user, table in redis.hgetall(f"{key}:{name.decode()}").items()}
        for name in redis.zrange(key, 0, -1)
    ]


def seated_room_of_twenty() -> tuple[dict, User, dict[int, int], dict[int, list[int]]]:
    """A session of 20 participants seated at two tables of ten (in an app context): the
    session's info, its lead, {user id: participant id} and {table id: user ids}."""
    info = build_session(participants=20, facilitators=0, table_size=10)
    lead = db.session.get(User, info["lead_id"])
    sessions.seat_room(lead, sessions.get_session(info["session_id"]))
    db.session.commit()
    seated = db.session.execute(
        select(Participant.user_id, Participant.id, Participant.table_id)
        .where(
            Participant.session_id == info["session_id"],
            Participant.role == ParticipantRole.PARTICIPANT,
        )
        .order_by(Participant.table_id, Participant.id)
    ).all()
    by_table: dict[int, list[int]] = {}
    for user_id, _participant_id, table_id in seated:
        by_table.setdefault(table_id, []).append(user_id)
    return info, lead, {user_id: pid for user_id, pid, _table in seated}, by_table


def test_the_console_adds_up_the_sockets_of_every_worker(stack, stack_app, routes):
    worker_a, worker_b = stack.workers
    with stack_app.app_context():
        info, lead, _participant_of, by_table = seated_room_of_twenty()
        sid = info["session_id"]
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
            # Worker B's entry now names its lead alone (connected, at no table).
            assert {info["lead_id"]: LOBBY} in entries(redis, sid)
            return figures
        finally:
            await asyncio.gather(*(c.close() for c, _w in people), *(x.close() for x in leads))

    figures = run_async(scenario())
    print("CONNECTED", json.dumps(figures))  # noqa: T201 - figures for the report
    # Once everyone has left, neither worker keeps an entry (not just a stale one).
    assert wait_until(lambda: redis.zcard(processes_key) == 0)


def test_a_person_on_both_workers_counts_once_and_is_connected_seen_from_either(
    stack, stack_app, routes
):
    """Phone through worker A, laptop through worker B: one person at one table, and the
    people page lists as connected, through either worker, people connected only on the other."""
    workers = worker_a, worker_b = stack.workers
    with stack_app.app_context():
        info, lead, participant_of, by_table = seated_room_of_twenty()
        sid = info["session_id"]
        first, second = sorted(by_table)
        roamer, on_a = by_table[first][:2]  # the roamer on both workers, the other on A only
        on_b = by_table[second][0]  # on B only

        def cookie(user_id: int, worker) -> str:
            user = db.session.get(User, user_id)
            return f"{session_cookie(stack_app, user)}; {routes.cookie_for(worker)}"

        placement = [(roamer, worker_a), (roamer, worker_b), (on_a, worker_a), (on_b, worker_b)]
        cookies = [(cookie(uid, worker), worker) for uid, worker in placement]
        lead_cookies = [cookie(lead.id, worker) for worker in workers]  # the lead on A, on B
        db.session.remove()
    redis = stack.redis.client()

    async def counts(lead: SioClient) -> dict[int, int]:
        ack = await lead.call("console", {"session_id": sid})
        assert ack["ok"], ack
        return {t["id"]: t["connected"] for t in ack["console"]["tables"] if t["connected"]}

    async def until(leads: list[SioClient], expected: dict[int, int]) -> None:
        started = time.monotonic()
        while True:
            seen = [await counts(lead) for lead in leads]
            if all(s == expected for s in seen):
                return
            assert time.monotonic() - started < 5, (seen, expected)
            await asyncio.sleep(0.1)

    def connected_on_page(worker, lead_cookie: str) -> set[int]:
        """The participants the people page lists under "connected", asked through `worker`."""
        response = requests.get(
            f"{stack.url}/roundtables/{sid}/people",
            params={"connected": "1"},
            headers={"Cookie": lead_cookie},
            allow_redirects=False,
            timeout=20,
        )
        assert response.status_code == 200, response.text[:300]
        assert stack.worker_for_upstream(response.headers["X-Madang-Upstream"]) is worker
        return {int(pid) for pid in re.findall(r'id="pick-(\d+)"', response.text)}

    def pages() -> list[set[int]]:
        return [connected_on_page(*pair) for pair in zip(workers, lead_cookies, strict=True)]

    def listed(*user_ids: int) -> list[set[int]]:
        return [{participant_of[uid] for uid in user_ids}] * 2

    async def scenario() -> None:
        people = [(SioClient(stack.url, NAMESPACE, c), w) for c, w in cookies]
        leads = [SioClient(stack.url, NAMESPACE, c) for c in lead_cookies]
        try:
            for client, worker in people + list(zip(leads, workers, strict=True)):
                await client.connect()
                assert stack.worker_for_upstream(client.upstream) is worker
                ack = await client.call("join", {"session_id": sid})
                assert ack["ok"], ack
            # The roamer counts once at their table, on either console.
            await until(leads, {first: 2, second: 1})
            assert await asyncio.to_thread(pages) == listed(roamer, on_a, on_b)
            # The laptop (worker B) closes: the phone on worker A still shows the roamer.
            await people[1][0].close()
            assert await asyncio.to_thread(
                wait_until, lambda: sum(roamer in e for e in entries(redis, sid)) == 1
            )
            await until(leads, {first: 2, second: 1})
            assert await asyncio.to_thread(pages) == listed(roamer, on_a, on_b)
            # The phone closes too: the roamer is gone from both workers' views.
            await people[0][0].close()
            await until(leads, {first: 1, second: 1})
            assert await asyncio.to_thread(pages) == listed(on_a, on_b)
        finally:
            await asyncio.gather(*(c.close() for c, _w in people), *(x.close() for x in leads))

    run_async(scenario())


SESSION = 10**9  # no real session: these entries are written by the test itself


def test_entries_count_each_person_once_and_expire_in_the_real_redis(stack):
    client = stack.redis.client()
    # Person 101 is on both processes (phone and laptop); 301 is connected at no table.
    first = {101: 1, 102: 1, 103: 1, 201: 2}
    publish(client, SESSION, "host-1:11:aa", first, ttl_s=30)
    publish(client, SESSION, "host-2:22:bb", {101: 1, 104: 1, 105: 1, 301: LOBBY}, ttl_s=30)
    assert read_totals(client, SESSION) == {1: 5, 2: 1}
    assert set(read_people(client, SESSION)) == {101, 102, 103, 104, 105, 201, 301}
    assert read_totals(client, SESSION, skip="host-2:22:bb") == {1: 3, 2: 1}
    # The second process's last socket left: its entry goes at once.
    publish(client, SESSION, "host-2:22:bb", {}, ttl_s=30)
    assert read_totals(client, SESSION) == {1: 3, 2: 1}
    assert client.exists(f"madang:roundtable:connected:{SESSION}:host-2:22:bb") == 0
    # Caught mid-move on two processes: one person, at a table rather than in the lobby and
    # at the lower table id of two, whichever entry is read first.
    second = {102: LOBBY, 201: 1, 401: 2, 402: 2}
    publish(client, SESSION, "host-2:22:bb", second, ttl_s=30)
    assert read_people(client, SESSION)[102] == 1 and read_people(client, SESSION)[201] == 1
    assert read_totals(client, SESSION) == {1: 4, 2: 2}
    # The first writes once more, with a short TTL, and stops (as a dead process would): it
    # stops counting after that TTL. (The second writes after it, as a live process does, so
    # the list of processes outlives the short entry; a loaded machine cannot make the checks
    # above outlast a short TTL.)
    publish(client, SESSION, "host-1:11:aa", first, ttl_s=1.5)
    publish(client, SESSION, "host-2:22:bb", second, ttl_s=30)
    assert wait_until(lambda: read_totals(client, SESSION) == {1: 1, 2: 2}, timeout=4)
    assert read_people(client, SESSION) == {102: LOBBY, 201: 1, 401: 2, 402: 2}
    assert client.pttl(f"madang:roundtable:connected:{SESSION}:host-1:11:aa") == -2


def test_a_live_process_refreshes_its_entry_and_a_stopped_one_drops_out(stack, stack_app):
    stack_app.config["REDIS_URL"] = stack.redis.url  # this process's Redis, no message queue
    # {user id: table id} on each process; person 1 is on both, person 8 at no table.
    here = {"alive": {1: 1, 2: 1, 3: 1, 8: LOBBY}, "dying": {1: 1, 4: 1, 5: 1, 6: 2}}

    def process(name: str) -> ConnectedCounts:
        return ConnectedCounts(
            lambda _sid: dict(here[name]),
            lambda: [SESSION] if here[name] else [],
            ttl_s=1.5,
            refresh_s=0.2,
        )

    alive, dying = process("alive"), process("dying")
    console = ConnectedCounts(lambda _sid: {}, lambda: [])
    try:
        alive.changed(stack_app, SESSION)
        dying.changed(stack_app, SESSION)
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 5, 2: 1})
        assert console.user_ids(stack_app, SESSION) == {1, 2, 3, 4, 5, 6, 8}
        # A process's own people count at once, without waiting for its write.
        here["alive"][7] = 1
        assert alive.totals(stack_app, SESSION) == {1: 6, 2: 1}
        assert 7 in alive.user_ids(stack_app, SESSION)
        alive.changed(stack_app, SESSION)
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 6, 2: 1})
        dying.stop()
        assert wait_until(lambda: console.totals(stack_app, SESSION) == {1: 4}, timeout=5)
        # Person 1 left the dying process but is still connected through the live one.
        assert console.user_ids(stack_app, SESSION) == {1, 2, 3, 7, 8}
        # Well past the TTL since its first write, the live process still counts.
        time.sleep(1.7)
        assert console.totals(stack_app, SESSION) == {1: 4}
    finally:
        alive.stop()
        dying.stop()
