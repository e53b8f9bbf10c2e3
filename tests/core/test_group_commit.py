"""The group commit (core/group_commit.py): requests from many threads are written in a few
batches, each waiter is woken with its own answer, a failed batch is refused as a whole, and
a waiter gives up after `wait_s`."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text

from deliberation.core.group_commit import Batcher
from deliberation.extensions import db


@dataclass
class Item:
    n: int
    done: Any = None
    answer: int | None = None
    refused: str | None = None


def _refuse(batch: list[Item], error: Exception) -> None:
    for item in batch:
        item.refused = str(error)


def test_many_requests_go_in_few_batches_and_each_gets_its_answer(app):
    batches: list[int] = []

    def write(batch: list[Item]) -> int:
        batches.append(len(batch))
        time.sleep(0.05)  # a transaction's round trips: the next batch gathers meanwhile
        for item in batch:
            item.answer = item.n * 10
        return len(batch)

    after: list[int] = []
    batcher = Batcher(
        "items", write, lambda b, e: None, after=lambda _app, r, _batch: after.append(r)
    )
    items = [Item(n) for n in range(40)]
    with ThreadPoolExecutor(40) as pool:
        woken = list(pool.map(lambda item: batcher.wait_for_batch(app, item), items))
    assert all(woken)
    assert [item.answer for item in items] == [n * 10 for n in range(40)]
    assert sum(batches) == 40 and len(batches) < 10, batches
    assert sorted(after) == sorted(batches)


def test_a_failed_batch_is_refused_whole_and_the_next_one_is_written(app):
    calls = {"n": 0}

    def write(batch: list[Item]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away")
        for item in batch:
            item.answer = item.n

    batcher = Batcher("items", write, _refuse)
    first, second = Item(1), Item(2)
    assert batcher.wait_for_batch(app, first)
    assert (first.answer, first.refused) == (None, "the database went away")
    assert batcher.wait_for_batch(app, second)
    assert (second.answer, second.refused) == (2, None)


def test_a_waiter_gives_up_after_wait_s(app):
    release = threading.Event()

    def write(batch: list[Item]) -> None:
        release.wait(5)

    batcher = Batcher("items", write, lambda b, e: None, wait_s=0.2)
    started = time.monotonic()
    try:
        assert batcher.wait_for_batch(app, Item(1)) is False
        assert time.monotonic() - started < 2
    finally:
        release.set()


def test_has_queued_tells_whether_a_later_batch_is_waiting(app):
    """The vote writer asks this after each batch (ballotbox._tallies_changed): requests that
    came while it wrote mean the burst goes on, so the tally waits for its gap."""
    writing, release = threading.Event(), threading.Event()
    seen_after: list[bool] = []

    def write(batch: list[Item]) -> None:
        writing.set()
        release.wait(5)
        for item in batch:
            item.answer = item.n

    batcher = Batcher(
        "items",
        write,
        lambda b, e: None,
        after=lambda a, _r, _batch: seen_after.append(batcher.has_queued(a)),
    )
    assert not batcher.has_queued(app)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.wait_for_batch, app, Item(1))
        assert writing.wait(5)
        later = [pool.submit(batcher.wait_for_batch, app, Item(n)) for n in (2, 3)]
        deadline = time.monotonic() + 5
        while not batcher.has_queued(app) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.has_queued(app)  # two requests wait while the first batch is written
        release.set()
        assert first.result(5) and all(f.result(5) for f in later)
    assert seen_after == [True, False]  # after the first batch: more queued; after the last: none
    assert not batcher.has_queued(app)


def test_a_held_connection_serves_a_whole_run_of_batches_and_a_failure_gets_a_fresh_one(app):
    """`hold_connection` (the vote writer): the batches of one run share one connection, one
    checkout (each batch otherwise checks one out, with the pool's ping); after a failed
    batch the next one gets a fresh connection. The first batch is held until the other 59
    requests have queued, so the run never runs dry however slow the machine: one run of
    seven batches (1, then 10 that fail, then five of 10)."""
    with app.app_context():
        engine = db.engine
    connections: list[Any] = []
    checkouts: list[int] = []
    rest_queued = threading.Event()

    def write(batch: list[Item], connection: Any) -> None:
        connections.append(connection)
        assert connection.execute(text("SELECT 1")).scalar() == 1
        if len(connections) == 1:
            assert rest_queued.wait(10)
        if len(connections) == 2:
            raise RuntimeError("the connection broke")
        for item in batch:
            item.answer = item.n

    def checked_out(*_args: Any) -> None:
        checkouts.append(1)

    def until(predicate) -> None:
        deadline = time.monotonic() + 10
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert predicate()

    batcher = Batcher("items", write, _refuse, max_batch=10, hold_connection=True)
    event.listen(engine, "checkout", checked_out)
    try:
        items = [Item(n) for n in range(60)]
        with ThreadPoolExecutor(60) as pool:
            first = pool.submit(batcher.wait_for_batch, app, items[0])
            until(lambda: len(connections) == 1)
            rest = [pool.submit(batcher.wait_for_batch, app, item) for item in items[1:]]
            until(lambda: batcher.queued(app) == 59)
            rest_queued.set()
            assert first.result(10) and all(f.result(10) for f in rest)
    finally:
        event.remove(engine, "checkout", checked_out)
    assert len(connections) == 7, "one run of seven batches"
    assert connections[0] is connections[1]  # held across batches
    assert connections[2] is not connections[1]  # a fresh one after the failure
    assert all(c is connections[2] for c in connections[2:])
    assert len(checkouts) == 2
    refused = [item for item in items if item.refused]
    assert refused and all(item.answer is None for item in refused)
    assert all(item.answer == item.n for item in items if not item.refused)
