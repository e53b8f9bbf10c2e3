"""A live room poll survives its faults on the production-shaped stack (issue 18).

The rehearsal (loadtest/rehearsal.py: real Socket.IO clients that reconnect and resend like
the browser's live.js) runs a whole roundtable against the stack; in the middle of the room
poll one fault is injected here, the way `make rehearse-production FAULT=...` does: a worker
killed with kill -9 (and brought back as systemd would), Redis stopped for 5 s, PostgreSQL
restarted. Afterwards every acknowledged vote is in the database, none twice, the final tally
equals the rows, and everyone is back in their own seat.
"""

import asyncio
import json
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.core.errors import DomainError
from deliberation.extensions import db
from deliberation.roundtables import ballotbox, polls, sessions
from deliberation.roundtables.models import (
    ChatMessage,
    Participant,
    Phase,
    PollKind,
    PollVote,
    RoundtableSession,
)
from deliberation.roundtables.rooms import NAMESPACE
from deliberation.voting.live import next_sequence
from loadtest import payloads
from loadtest.loadclient import LightClient
from loadtest.rehearsal import rehearse
from scripts.localstack import LocalStack, StackSettings
from tests.production.helpers import run_async, running_session
from tests.roundtables.helpers import build_session

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PARTICIPANTS = 40


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A stack of this module's own: killing a worker and restarting Redis or PostgreSQL must
    not leave the shared stack of the other production tests recovering when they start."""
    directory = Path(tempfile.mkdtemp(prefix="madang-faults-"))
    local = LocalStack(
        StackSettings(directory=directory, workers=2, schema="create-all", for_tests=True)
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(directory, ignore_errors=True)


def rehearse_with_fault(
    stack: LocalStack, app, fault: str, directory: Path, window: float = 2.0
) -> dict:
    """Run the rehearsal in a thread; inject the fault from this one when it asks (a server
    restarted from a short-lived thread would die with it: PR_SET_PDEATHSIG)."""
    trigger = directory / "fault-now"
    lines: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(
            rehearse, app, PARTICIPANTS, stack.url, window, None, 30.0, lines.append,
            fault=fault, fault_command=f"touch {trigger}",
        )  # fmt: skip
        injected = False
        while not running.done():
            time.sleep(0.1)
            if trigger.exists() and not injected:
                stack.inject_fault(fault, lines.append)
                injected = True
            stack.restart_dead_processes(lines.append)
        result = running.result()
    assert injected, lines
    # The rehearsal can end before a killed worker, restarted without waiting, serves again:
    # the next test would then find its port refused (a full run did, connecting straight to it).
    stack.restart_dead_processes(lines.append)
    for worker in stack.workers:
        worker.wait_ready()
    return result


def assert_nothing_lost(result: dict) -> None:
    voters = PARTICIPANTS
    assert result["connected"] == voters
    assert result["votes_acked"] == voters, result
    assert result["votes_lost"] == 0
    assert result["votes_doubled"] == 0
    assert result["votes_in_database"] == result["final_tally"] == voters
    assert result["not_back_in_seat"] == 0
    assert result["converge_ms"] is not None, result  # every client holds the final tally
    assert result["error_kinds"].keys() <= {"lead_reconnected"}, result


def test_worker_killed_mid_poll_loses_and_doubles_nothing(stack, stack_app, tmp_path):
    result = rehearse_with_fault(stack, stack_app, "worker-kill", tmp_path)
    assert_nothing_lost(result)
    # The dead worker's people came back by themselves, to their own seats, within seconds.
    assert result["affected"] > 0
    assert result["reconnect_p99_s"] <= 10
    # When the lead's console was on the killed worker, its reconnect is recovery from the
    # fault (counted in `recovered`), not an error.
    assert result["error_kinds"] == {}, result


def test_postgres_restart_mid_poll_refuses_then_records_every_vote(stack, stack_app, tmp_path):
    result = rehearse_with_fault(stack, stack_app, "postgres-restart", tmp_path)
    assert_nothing_lost(result)
    # Votes the batch writer could not write were refused (never acknowledged), sent again
    # and written once PostgreSQL was back, without restarting the server.
    refused = {k: n for k, n in result["recovered"].items() if k.startswith("vote_refused_")}
    assert sum(refused.values()) > 0, json.dumps(result)


def test_redis_restart_mid_poll_loses_nothing_and_every_client_converges(
    stack, stack_app, tmp_path
):
    # Votes keep coming for 3 s after Redis stops (5 s). Every client must still end with the
    # final tally: through python-socketio's retried publish once Redis is back, or through
    # the queue watcher's `resync` (deliberation.core.queue_watch). Which of the two gets
    # there first depends on timing, so this test asserts the outcome, not the path (the
    # N=300 run in docs/deploy.md counted 330 resync snapshots).
    result = rehearse_with_fault(stack, stack_app, "redis-restart", tmp_path, window=6.0)
    assert_nothing_lost(result)


def test_voting_sequence_keeps_growing_after_redis_forgets_it(stack, stack_app):
    """Redis restarted without persistence forgets the site-wide counter: pages drop news
    numbered lower than what they show, so the counter must not start again at 1."""
    stack_app.config["REDIS_URL"] = stack.redis.url
    with stack_app.app_context():
        for _ in range(3):
            before = next_sequence()
        stack.redis.client().flushall()  # what a restart without persistence leaves
        after = next_sequence()
    assert after > before


def test_batch_vote_writer_refuses_while_postgres_is_down_and_recovers(stack, stack_app):
    """The group-commit writer, with PostgreSQL really stopped: the vote is refused with a
    clear message (never acknowledged), nothing is stored; PostgreSQL back, the same vote with
    the same client id is written once, without restarting anything."""
    with stack_app.app_context():
        info = build_session(participants=6, facilitators=1, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.seat_room(lead, session)
        sessions.start_session(lead, session)
        for phase in (Phase.DISCUSSION, Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL):
            sessions.set_phase(lead, session, phase)
        poll = polls.open_poll(lead, session, PollKind.QUESTION, "Meet again?", ["Yes", "No"])
        db.session.commit()
        voter = db.session.get(User, info["people"][0])
        participant = db.session.scalar(
            select(Participant).where(
                Participant.session_id == session.id, Participant.user_id == voter.id
            )
        )

        def request() -> ballotbox.VoteRequest:
            return ballotbox.VoteRequest(
                poll_id=poll.id, session_id=session.id, participant_id=participant.id,
                user_id=voter.id, session_token=voter.session_token,
                client_id="f" * 32, option_id=poll.options[0].id,
                member_category=participant.member_category,
            )  # fmt: skip

        ids = (poll.id, participant.id)
        db.session.remove()
    app = stack_app

    def stored() -> int:
        with app.app_context():
            count = db.session.scalar(
                select(func.count())
                .select_from(PollVote)
                .where(PollVote.poll_id == ids[0], PollVote.participant_id == ids[1])
            )
            db.session.remove()
            return count

    stack.postgres.stop()
    try:
        with app.test_request_context():
            with pytest.raises(DomainError) as refused:
                ballotbox.submit(app, request())
        assert refused.value.code == "not_recorded"
        assert "not recorded" in refused.value.message
    finally:
        stack.postgres.start()
    assert stored() == 0
    with app.test_request_context():
        answer = ballotbox.submit(app, request())
        again = ballotbox.submit(app, request())
    assert answer["client_id"] == "f" * 32 and not answer.get("repeat")
    assert again.get("repeat") is True
    assert stored() == 1


def test_a_client_that_missed_a_broadcast_while_redis_was_away_converges_through_resync(
    stack, stack_app
):
    """Deterministic: nothing in flight. Redis stops; the lead moves the room to the next
    phase (written, acknowledged, but its broadcast is lost with Redis); Redis comes back. The
    participant never hears the phase broadcast, gets `resync` from its process's queue
    watcher (deliberation.core.queue_watch), and the snapshot it then asks for (what live.js
    does on `resync`) shows the new phase."""
    info = running_session(stack_app)
    sid = info["session_id"]
    heard: dict[str, list] = {"phase": [], "resync": []}

    async def scenario() -> tuple[dict, dict]:
        # On different processes, straight to each: python-socketio hands an emit to the
        # sockets of its own process before publishing it, so a participant sharing the
        # lead's process would hear the phase without Redis.
        person = LightClient(stack.workers[1].url, NAMESPACE, info["cookies"][0])
        lead = LightClient(stack.workers[0].url, NAMESPACE, info["lead_cookie"])
        person.on("phase", lambda data, _at: heard["phase"].append(data.get("phase")))
        person.on("resync", lambda _data, at: heard["resync"].append(at))
        try:
            for client in (person, lead):
                await client.connect(timeout=20)
                assert (await client.call("join", payloads.join(sid), 20))["ok"]
            stack.redis.stop()
            try:
                moved = await lead.call("phase_set", payloads.phase_set(sid, "submissions"), 20)
                await asyncio.sleep(1.0)  # a broadcast, had it gone anywhere, would be here
                assert heard["phase"] == []
            finally:
                stack.redis.start()
            # python-socketio's listener retries after 1, 2, 4 ... s; then the watcher resyncs.
            deadline = time.monotonic() + 30
            while not heard["resync"] and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert heard["resync"], "no resync after Redis came back"
            caught_up = await person.call("snapshot", payloads.snapshot(sid), 20)
        finally:  # a failed step must not leave sockets for the next test to trip on
            await asyncio.gather(person.close(), lead.close(), return_exceptions=True)
        return moved, caught_up

    moved, caught_up = run_async(scenario())
    assert moved["ok"], moved
    assert heard["phase"] == []  # the lost broadcast never came: only the resync caught it up
    assert caught_up["ok"] and caught_up["snapshot"]["phase"] == "submissions", caught_up


def test_socket_events_answer_database_unavailable_while_postgres_is_down(stack, stack_app):
    """A socket event that needs the database while PostgreSQL is stopped is refused with
    `database_unavailable` and a message saying it was not saved (not a bare server_error);
    PostgreSQL back, the same message with the same client id is written, once, without
    restarting anything."""
    info = running_session(stack_app)
    sid = info["session_id"]
    chat = payloads.chat_send(sid, "Is anyone there?", "d" * 32)

    async def scenario() -> tuple[dict, dict, dict]:
        person = LightClient(stack.url, NAMESPACE, info["cookies"][0])
        try:
            await person.connect(timeout=20)
            assert (await person.call("join", payloads.join(sid), 20))["ok"]
            stack.postgres.stop()
            try:
                refused_write = await person.call("chat_send", chat, 20)
                refused_read = await person.call("snapshot", payloads.snapshot(sid), 20)
            finally:
                stack.postgres.start()
            written = await person.call("chat_send", chat, 20)
        finally:
            await person.close()
        return refused_write, refused_read, written

    refused_write, refused_read, written = run_async(scenario())
    for refused in (refused_write, refused_read):
        assert refused["ok"] is False and refused["error"] == "database_unavailable", refused
        assert "could not reach its database" in refused["message"]
    assert written["ok"], written
    with stack_app.app_context():
        stored = db.session.scalar(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.client_id == "d" * 32)
        )
        db.session.remove()
    assert stored == 1


def test_a_restarted_process_refuses_connections_until_it_can_serve(stack):
    """gunicorn loads the app before it binds (preload_app, deploy/gunicorn.conf.py): while a
    restarted process loads, its port refuses connections, so nginx sends its people to the
    other process instead of into a backlog nobody answers. Most of the start (loading the app)
    must come before the port accepts, only the worker's fork after."""
    worker = stack.workers[1]
    worker.kill_hard()
    started = time.monotonic()
    worker.start(wait=False)
    accepted_at = None
    while accepted_at is None and time.monotonic() - started < 60:
        try:
            socket.create_connection(("127.0.0.1", worker.port), timeout=0.2).close()
            accepted_at = time.monotonic()
        except OSError:
            time.sleep(0.02)
    assert accepted_at is not None, "the restarted process never opened its port"
    worker.wait_ready(timeout=30)
    serving_at = time.monotonic()
    assert serving_at - accepted_at < accepted_at - started, (
        f"port open after {accepted_at - started:.2f} s, serving "
        f"{serving_at - accepted_at:.2f} s later: the app loads after binding"
    )
