"""The rehearsal stops itself: its people connect within one deadline, not one each."""

import asyncio
import gc
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from loadtest.rehearsal import HANDSHAKES_IN_FLIGHT, Cast, Rehearsal


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
        # A loop of its own, as the rehearsal runs: another test's may be running here.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(rehearsal.connect_all())).result()
    finally:
        gc.unfreeze()  # connect_all freezes the collector for the poll that would follow
        silent.close()
    elapsed = time.monotonic() - started

    # A timeout per group through the gate would take eight seconds.
    assert elapsed < 3 * timeout, elapsed
    assert rehearsal.errors == {"connect": people}
    assert rehearsal.people == []
