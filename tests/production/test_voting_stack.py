"""Votes on the production-shaped stack: across workers, under a race, and through a crash.

Voters are real Socket.IO connections (tests/production/sio.py) through nginx. Each keeps
its turnout display exactly as static/js/voting.js does (a broadcast older than the last
applied `seq` is ignored; every (re)connect joins again and applies the snapshot).
"""

import asyncio
import json
import random
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.voting import queries
from deliberation.voting.models import Ballot, Vote, VoteCast
from tests.factories import make_user
from tests.production.conftest import session_cookie
from tests.production.helpers import run_async, summary
from tests.production.sio import Disconnected, SioClient, connect_with_retries
from tests.voting.support import make_ballot, make_crowd

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHOICES = ["yes", "yes", "no", "abstain"]
HANDSHAKES_IN_FLIGHT = 50


class LiveVoter:
    """One person's page: a /voting connection that reconnects by itself and resyncs."""

    def __init__(self, url: str, cookie: str, ballot_id: int) -> None:
        self.client = SioClient(url, "/voting", cookie)
        self.ballot_id = ballot_id
        self.last_seq = 0
        self.voted: int | None = None
        self.history: list[tuple[float, int]] = []
        self.ready = asyncio.Event()
        self.stopping = False
        self.connections = 0
        self.client.on("turnout", self.show)

    def show(self, data: dict | None) -> None:
        """static/js/voting.js `show`."""
        if not data or data.get("ballot_id") != self.ballot_id:
            return
        if data.get("seq") and data["seq"] < self.last_seq:
            return
        self.last_seq = data.get("seq") or self.last_seq
        self.voted = data["voted"]
        self.history.append((time.perf_counter(), data["voted"]))

    async def join(self, deadline: float) -> None:
        await connect_with_retries(self.client, deadline)
        ack = await self.client.call("join_ballot", {"ballot_id": self.ballot_id})
        assert ack["ok"], ack
        self.show(ack["turnout"])
        self.connections += 1

    async def stay_connected(self, deadline: float, gate: asyncio.Semaphore) -> None:
        """Like socket.io-client: when the connection drops, reconnect, join, resync."""
        while not self.stopping:
            async with gate:
                await self.join(deadline)
            self.ready.set()
            await asyncio.gather(self.client.reader, return_exceptions=True)
            self.ready.clear()

    async def cast(self, choice: str, client_id: str, deadline: float) -> tuple[dict, int]:
        """Cast until acknowledged; after a dropped connection retry with the same client id."""
        interrupted = 0
        while True:
            await asyncio.wait_for(self.ready.wait(), max(0.1, deadline - time.monotonic()))
            try:
                ack = await self.client.call(
                    "cast",
                    {"ballot_id": self.ballot_id, "choice": choice, "client_id": client_id},
                    timeout=15,
                )
                return ack, interrupted
            except (Disconnected, TimeoutError):
                interrupted += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.stopping = True
        await self.client.close()


def voters_cookies(stack_app, count: int) -> tuple[int, list[tuple[int, str]]]:
    """A fresh ballot and `count` eligible people with their session cookies."""
    with stack_app.app_context():
        ballot_id = make_ballot().id
        ids = make_crowd(count)
        users = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)).all()
        cookies = [(u.id, session_cookie(stack_app, u)) for u in users]
        db.session.remove()
    return ballot_id, cookies


def database_view(stack_app, ballot_id: int) -> dict:
    with stack_app.app_context():
        ballot = db.session.get(Ballot, ballot_id)
        votes = dict(
            db.session.execute(
                select(Vote.voter_id, Vote.receipt).where(Vote.ballot_id == ballot_id)
            ).all()
        )
        casts = db.session.scalar(
            select(func.count()).select_from(VoteCast).where(VoteCast.ballot_id == ballot_id)
        )
        view = {
            "votes": votes,
            "casts": casts,
            "tally": queries.tally(ballot)["counts"],
            "recount": queries.recount_from_receipts(ballot),
            "turnout": queries.turnout(ballot)["voted"],
        }
        db.session.remove()
    return view


async def settle(voters: list[LiveVoter], expected: int, timeout: float) -> float:
    """Wait until every voter's display shows `expected`; return how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(v.voted == expected for v in voters):
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def test_a_vote_through_worker_a_updates_the_turnout_a_client_on_worker_b_sees(
    stack, stack_app, routes
):
    worker_a, worker_b = stack.workers
    ballot_id, cookies = voters_cookies(stack_app, 20)
    with stack_app.app_context():
        watcher_cookie = session_cookie(stack_app, make_user(email="watcher@example.org"))

    async def scenario() -> dict:
        deadline = time.monotonic() + 60
        watcher = LiveVoter(
            stack.url, f"{watcher_cookie}; {routes.cookie_for(worker_b)}", ballot_id
        )
        voters = [
            LiveVoter(stack.url, f"{cookie}; {routes.cookie_for(worker_a, n % 5)}", ballot_id)
            for n, (_uid, cookie) in enumerate(cookies)
        ]
        for voter in [watcher, *voters]:
            await voter.join(deadline)
            voter.ready.set()
        assert watcher.client.upstream == worker_b.url.removeprefix("http://")
        assert {v.client.upstream for v in voters} == {worker_a.url.removeprefix("http://")}
        delays = []
        for n, voter in enumerate(voters, 1):
            sent = time.perf_counter()
            ack, _ = await voter.cast(CHOICES[n % 4], f"cross-{ballot_id}-{n}", deadline)
            assert ack["ok"] and ack["status"] == "cast", ack
            while watcher.voted != n:
                assert time.monotonic() < deadline, f"worker B's client stuck at {watcher.voted}"
                await asyncio.sleep(0.002)
            delays.append(watcher.history[-1][0] - sent)
        for voter in [watcher, *voters]:
            await voter.close()
        return summary(delays)

    figures = run_async(scenario())
    print("VOTE_DELIVERY_A_TO_B", json.dumps(figures))  # noqa: T201 - figures for the report
    assert figures["max_ms"] < 2000
    assert database_view(stack_app, ballot_id)["turnout"] == 20


def test_200_simultaneous_casts_by_one_person_over_both_workers_leave_one_vote(
    stack, stack_app, routes
):
    with stack_app.app_context():
        ballot_id = make_ballot().id
        person = make_user(email="eager@example.org")
        cookie = session_cookie(stack_app, person)
        person_id = person.id

    async def scenario() -> list[dict]:
        deadline = time.monotonic() + 60
        pages = [
            LiveVoter(stack.url, f"{cookie}; {routes.cookie_for(w, n)}", ballot_id)
            for w in stack.workers
            for n in range(5)
        ]
        for page in pages:
            await page.join(deadline)
            page.ready.set()
        assert len({p.client.upstream for p in pages}) == 2
        calls = [
            pages[n % len(pages)].client.call(
                "cast",
                {"ballot_id": ballot_id, "choice": CHOICES[n % 4], "client_id": f"eager-{n:04d}"},
                timeout=60,
            )
            for n in range(200)
        ]
        acks = await asyncio.gather(*calls)
        for page in pages:
            await page.close()
        return acks

    acks = run_async(scenario())
    accepted = [a for a in acks if a["ok"]]
    refused = Counter(a["error"] for a in acks if not a["ok"])
    # The rate limit (30 casts a minute per person) is one window in Redis for both workers.
    assert len(accepted) == 30, (len(accepted), refused)
    assert refused == {"rate_limited": 170}
    view = database_view(stack_app, ballot_id)
    assert list(view["votes"]) == [person_id]
    assert view["votes"][person_id] in {a["receipt"] for a in accepted}
    assert view["casts"] == 30
    assert sum(view["tally"].values()) == 1 and view["recount"] == view["tally"]


def test_a_worker_killed_during_1000_votes_loses_and_doubles_nothing(stack, stack_app):
    """kill -9 one worker (arbiter and worker process) mid-burst; systemd-like restart 1 s later."""
    voter_count, window_s, kill_at = 1000, 4.0, 300
    victim = stack.workers[0]
    ballot_id, cookies = voters_cookies(stack_app, voter_count)
    rng = random.Random(ballot_id)

    async def scenario() -> dict:
        deadline = time.monotonic() + 150
        gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        voters = [
            LiveVoter(stack.url, f"{cookie}; madang_route=voter-{uid}", ballot_id)
            for uid, cookie in cookies
        ]
        keepers = [asyncio.create_task(v.stay_connected(deadline, gate)) for v in voters]
        await asyncio.wait_for(
            asyncio.gather(*(v.ready.wait() for v in voters)), deadline - time.monotonic()
        )
        spread = Counter(v.client.upstream for v in voters)
        acks: dict[int, dict] = {}
        interrupted = Counter()
        kill_now = asyncio.Event()
        timeline: dict[str, float] = {}

        async def vote(n: int, voter: LiveVoter) -> None:
            await asyncio.sleep(rng.uniform(0, window_s))
            ack, retries = await voter.cast(CHOICES[n % 4], f"crash-{ballot_id}-{n}", deadline)
            assert ack["ok"], ack
            acks[n] = ack
            interrupted[n] = retries
            if len(acks) == kill_at:
                kill_now.set()

        async def kill_and_restart() -> None:
            await kill_now.wait()
            timeline["killed_at_ack"] = len(acks)
            started = time.monotonic()
            victim.kill_hard()
            await asyncio.sleep(1.0)  # RestartSec=1
            victim.start(wait=False)
            await asyncio.to_thread(victim.wait_ready)
            timeline["restart_s"] = round(time.monotonic() - started, 2)

        burst_started = time.monotonic()
        killer = asyncio.create_task(kill_and_restart())
        await asyncio.gather(*(vote(n, v) for n, v in enumerate(voters)))
        burst_s = time.monotonic() - burst_started
        await asyncio.wait_for(killer, 60)
        settle_s = await settle(voters, voter_count, timeout=15)
        shown = Counter(v.voted for v in voters)
        reconnected = sum(1 for v in voters if v.connections > 1)
        for voter in voters:
            voter.stopping = True
        for keeper in keepers:
            keeper.cancel()
        await asyncio.gather(*(v.close() for v in voters), return_exceptions=True)
        await asyncio.gather(*keepers, return_exceptions=True)
        return {
            "voters": voter_count,
            "connected_per_worker": dict(spread),
            "acknowledged": len(acks),
            "statuses": dict(Counter(a["status"] for a in acks.values())),
            "casts_interrupted_then_retried": sum(interrupted.values()),
            "clients_reconnected": reconnected,
            "burst_s": round(burst_s, 2),
            "settle_s": round(settle_s, 2),
            "displays": {str(k): c for k, c in shown.items()},
            "receipts": {n: a["receipt"] for n, a in acks.items()},
            **timeline,
        }

    result = run_async(scenario())
    receipts = result.pop("receipts")
    view = database_view(stack_app, ballot_id)
    voter_ids = [uid for uid, _ in cookies]
    lost = [n for n, receipt in receipts.items() if view["votes"].get(voter_ids[n]) != receipt]
    figures = {
        **result,
        "votes_in_database": len(view["votes"]),
        "lost": len(lost),
        "duplicated": view["casts"] - len(view["votes"]),
        "tally": view["tally"],
    }
    print("CRASH", json.dumps(figures))  # noqa: T201 - figures for the report
    assert result["connected_per_worker"] and len(result["connected_per_worker"]) == 2
    assert kill_at <= result["killed_at_ack"] < voter_count
    assert result["acknowledged"] == voter_count
    assert result["casts_interrupted_then_retried"] > 0, "the kill interrupted nothing"
    assert lost == []
    assert len(view["votes"]) == voter_count
    assert view["casts"] == voter_count  # one accepted request per person: nothing twice
    assert view["tally"] == {"yes": 500, "no": 250, "abstain": 250}
    assert view["recount"] == view["tally"]
    assert result["displays"] == {str(voter_count): voter_count}, result["displays"]


def test_after_many_votes_through_a_a_vote_through_b_still_reaches_every_display(
    stack, stack_app, routes
):
    """Each broadcast carries a `seq` and displays ignore older ones: the numbers of two
    processes must be comparable, or one process's news is dropped as stale."""
    worker_a, worker_b = stack.workers
    ballot_id, cookies = voters_cookies(stack_app, 21)

    async def scenario() -> list[int | None]:
        deadline = time.monotonic() + 60
        pages = [
            LiveVoter(stack.url, f"{cookie}; {routes.cookie_for(worker_a, n % 5)}", ballot_id)
            for n, (_uid, cookie) in enumerate(cookies[:20])
        ]
        last = LiveVoter(stack.url, f"{cookies[20][1]}; {routes.cookie_for(worker_b)}", ballot_id)
        for page in [*pages, last]:
            await page.join(deadline)
            page.ready.set()
        for n, page in enumerate(pages):
            ack, _ = await page.cast("yes", f"seq-order-{ballot_id}-{n}", deadline)
            assert ack["ok"], ack
        await settle([*pages, last], 20, timeout=10)
        ack, _ = await last.cast("no", f"seq-{ballot_id}-last", deadline)
        assert ack["ok"], ack
        await settle([*pages, last], 21, timeout=10)
        shown = [p.voted for p in [*pages, last]]
        for page in [*pages, last]:
            await page.close()
        return shown

    assert run_async(scenario()) == [21] * 21
