"""Seats pushed on two workers: when the lead seats the room through one worker, the
participants connected to the other are told their seats too (by the `seated` notice over
Redis, deliberation/roundtables/seat_push.py), without asking with a join."""

import asyncio
import time

import pytest

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.models import Participant
from deliberation.roundtables.rooms import NAMESPACE
from loadtest import payloads
from loadtest.loadclient import LightClient
from tests.production.conftest import session_cookie
from tests.production.helpers import run_async
from tests.roundtables.helpers import build_session

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PEOPLE = 12


def test_seating_on_one_worker_pushes_seats_to_sockets_on_the_other(stack, stack_app):
    with stack_app.app_context():
        info = build_session(participants=PEOPLE, facilitators=1, table_size=6)
        users = [db.session.get(User, uid) for uid in info["people"]]
        cookies = [session_cookie(stack_app, user) for user in users]
        lead_cookie = session_cookie(stack_app, db.session.get(User, info["lead_id"]))
        db.session.remove()
    sid = info["session_id"]
    pushed: dict[int, dict] = {}
    heard: list[tuple[int, str]] = []

    async def scenario() -> None:
        worker_a, worker_b = (worker.url for worker in stack.workers)
        lead = LightClient(worker_a, NAMESPACE, lead_cookie)
        people = [
            LightClient((worker_a, worker_b)[i % 2], NAMESPACE, cookie)
            for i, cookie in enumerate(cookies)
        ]
        for n, person in enumerate(people):
            person.on("seat", lambda data, _at, n=n: pushed.setdefault(n, data))
        clients = [lead, *people]
        try:
            for client in clients:
                await client.connect(timeout=20)
                ack = await client.call("join", payloads.join(sid), 20)
                assert ack["ok"], ack
                assert client is lead or ack["seat"]["table_id"] is None, ack
            seated = await lead.call("seat_room", payloads.console_action(sid), 20)
            assert seated["ok"], seated
            deadline = time.monotonic() + 10
            while len(pushed) < PEOPLE and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # Moved into the table's room by the push alone: a line reaches the table-mates
            # on both workers, and nobody at another table.
            started = await lead.call("session_start", payloads.console_action(sid), 20)
            assert started["ok"], started
            for n, person in enumerate(people):
                person.on("chat_message", lambda data, _at, n=n: heard.append((n, data["body"])))
            for n in (0, 1):  # one writer on each worker
                ack = await people[n].call(
                    "chat_send", payloads.chat_send(sid, f"hello from {n}", f"chat-00000{n}"), 20
                )
                assert ack["ok"], ack
            # Each line reaches the writer's table-mates on both workers (over Redis for the
            # other one): wait for all of them, not a fixed second.
            table_of = await asyncio.to_thread(tables_by_person)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                (n, f"hello from {writer}") in heard
                for writer in (0, 1)
                for n in range(PEOPLE)
                if table_of[n] == table_of[writer]
            ):
                await asyncio.sleep(0.05)
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    def tables_by_person() -> list[int | None]:
        with stack_app.app_context():
            tables = {
                p.user_id: p.table_id
                for p in db.session.query(Participant).filter(Participant.session_id == sid)
            }
            db.session.remove()
        return [tables[uid] for uid in info["people"]]

    run_async(scenario())
    assert sorted(pushed) == list(range(PEOPLE)), f"pushed to {sorted(pushed)}"
    table_of = tables_by_person()
    for n in range(PEOPLE):
        assert pushed[n]["seat"]["table_id"] == table_of[n] is not None
        assert pushed[n]["snapshot"]["seated"] is True
    for writer in (0, 1):
        mates = [n for n in range(PEOPLE) if table_of[n] == table_of[writer]]
        got = sorted(n for n, body in heard if body == f"hello from {writer}")
        assert got == mates, (writer, got, table_of)
