"""The rehearsal stops itself: its people connect within one deadline, not one each, and the
whole run ends within its bound whatever the server does."""

import asyncio
import gc
import socket
import time

import pytest

from loadtest.cast import Cast
from loadtest.rehearsal import HANDSHAKES_IN_FLIGHT, Rehearsal, run_within


def test_a_server_that_never_answers_costs_the_rehearsal_one_timeout_not_one_per_group():
    # A port that takes connections into its backlog and never accepts them: what nginx in
    # front of a gunicorn worker at its worker_connections looked like to the rehearsal.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    people = 8 * HANDSHAKES_IN_FLIGHT  # eight groups through the gate
    cast = Cast(
        session_id=1,
        lead_cookie="session=lead",
        participant_cookies=["session=person"] * people,
        facilitator_cookies=[],
    )
    timeout = 1.0
    rehearsal = Rehearsal(f"http://127.0.0.1:{port}", cast, 1.0, timeout, say=lambda _: None)
    started = time.monotonic()
    try:
        run_within(rehearsal.connect_all, 60)
    finally:
        gc.unfreeze()  # connect_all freezes the collector for the poll that would follow
        silent.close()
    elapsed = time.monotonic() - started

    # A timeout per group through the gate would take eight seconds.
    assert elapsed < 3 * timeout, elapsed
    assert rehearsal.errors == {"connect": people}
    assert rehearsal.people == []


def test_a_run_that_would_go_on_is_stopped_at_its_bound():
    finished = []

    async def endless() -> None:
        await asyncio.sleep(30)
        finished.append(True)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run_within(endless, 0.2)

    assert time.monotonic() - started < 2
    assert finished == []


def test_a_run_within_its_bound_gives_its_result():
    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "figures"

    assert run_within(quick, 5) == "figures"
