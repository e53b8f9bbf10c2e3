"""Room-poll tallies on two workers: each worker sends the tally to its own sockets only,
after a notice from the worker where the votes committed (deliberation/roundtables/tallies.py).
"""

import asyncio
import time

import pytest
import redis

from deliberation.core import notices
from deliberation.roundtables.models import Phase
from deliberation.roundtables.rooms import NAMESPACE
from loadtest import payloads
from loadtest.loadclient import LightClient
from tests.production.helpers import run_async, running_session

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

VOTERS = 6
TO_THE_POLL = (Phase.DISCUSSION, Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL)


def test_every_worker_listens_for_other_workers_votes_from_the_start(stack):
    """Before anyone joins a session there (first in this module): a projector may be the only
    socket a worker holds of a session, and it must still get the tallies of votes that
    commit on another worker."""
    client = redis.Redis.from_url(stack.redis.url, socket_timeout=5)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listening = dict(client.pubsub_numsub(notices.CHANNEL))[notices.CHANNEL.encode()]
            if listening >= len(stack.workers):
                break
            time.sleep(0.1)
    finally:
        client.close()
    assert listening == len(stack.workers)


def test_votes_on_one_worker_reach_the_other_workers_room_once(stack, stack_app):
    """Half the room votes through worker A, half through B. Each worker hears of the other's
    votes and sends the final tally to its own sockets, once: a socket does not also get the
    other worker's copy through Redis (before, every worker broadcast the whole room's tally
    to every socket, so each socket got the final tally once per worker)."""
    info = running_session(stack_app, TO_THE_POLL, participants=VOTERS + 1)
    sid = info["session_id"]
    tallies: dict[str, list[int]] = {"a": [], "b": []}

    async def scenario() -> dict:
        worker_a, worker_b = (worker.url for worker in stack.workers)
        lead = LightClient(worker_a, NAMESPACE, info["lead_cookie"])
        voters = [
            LightClient((worker_a, worker_b)[i % 2], NAMESPACE, cookie)
            for i, cookie in enumerate(info["cookies"][:VOTERS])
        ]
        watcher = LightClient(worker_b, NAMESPACE, info["cookies"][VOTERS])  # does not vote
        voters[0].on("poll_tally", lambda data, _at: tallies["a"].append(data["total"]))
        watcher.on("poll_tally", lambda data, _at: tallies["b"].append(data["total"]))
        clients = [lead, *voters, watcher]
        try:
            for client in clients:
                await client.connect(timeout=20)
                assert (await client.call("join", payloads.join(sid), 20))["ok"]
            opened = await lead.call(
                "poll_open",
                payloads.poll_open(sid, "question", "Which first?", ["Parks", "Buses"]),
                20,
            )
            assert opened["ok"], opened
            poll = opened["poll"]
            option = poll["options"][0]["id"]
            acks = await asyncio.gather(
                *(
                    voter.call(
                        "poll_vote", payloads.poll_vote(sid, poll["id"], option, f"vote-{i:04d}")
                    )
                    for i, voter in enumerate(voters)
                )
            )
            assert all(ack["ok"] for ack in acks), acks
            # Both participants' final tallies: each worker sends its own, at its own moment.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                VOTERS in tallies[worker] for worker in ("a", "b")
            ):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # a second copy, had one been sent, would be here
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        return poll

    run_async(scenario())
    for worker in ("a", "b"):
        assert tallies[worker], f"no tally reached the participant on worker {worker}"
        assert tallies[worker][-1] == VOTERS, tallies
        assert tallies[worker].count(VOTERS) == 1, tallies  # one copy of the final tally
        assert tallies[worker] == sorted(tallies[worker]), tallies  # never back in time
