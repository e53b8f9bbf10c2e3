"""Pooled connections are pinged at checkout, except by writers that trust a recent ping
(deliberation.core.pool_ping): on the stack's real PostgreSQL, connections really cut by the
server."""

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from deliberation.config import postgres_engine_options
from deliberation.core.pool_ping import install_pings, trusting_recent_pings
from scripts.localstack import LocalStack

INTERVAL_S = 0.5


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def trusting_backend_pid(engine) -> int:
    with trusting_recent_pings():
        return backend_pid(engine)


def cut(stack: LocalStack, pid: int) -> None:
    """The server ends that connection, as a PostgreSQL restart or an idle timeout would."""
    with stack.postgres.connect_admin() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


@pytest.fixture
def engine(stack):
    engine = create_engine(stack.database_url, **{**postgres_engine_options(), "pool_size": 1})
    install_pings(engine, INTERVAL_S)
    yield engine
    engine.dispose()


def test_every_checkout_is_pinged_outside_the_writers(stack, engine):
    first = backend_pid(engine)
    cut(stack, first)
    # Moments after its opening, and still pinged: found cut and replaced, nothing fails.
    second = backend_pid(engine)
    assert second != first
    assert backend_pid(engine) == second  # a working connection keeps its backend


def test_a_writer_trusts_a_connection_checked_moments_ago_not_a_later_one(stack, engine):
    first = trusting_backend_pid(engine)
    cut(stack, first)
    # Opened just now: no ping, so the cut connection is used and its statement fails (one
    # batch lost to an outage, refused and sent again)...
    with pytest.raises(OperationalError) as failed:
        trusting_backend_pid(engine)
    assert failed.value.connection_invalidated
    # ...and the pool has replaced it.
    second = trusting_backend_pid(engine)
    assert second != first

    cut(stack, second)
    time.sleep(INTERVAL_S * 1.5)
    # Checked longer ago: pinged at checkout, found cut, replaced before the statement runs.
    third = trusting_backend_pid(engine)
    assert third not in (first, second)
    assert trusting_backend_pid(engine) == third


def test_a_checkout_that_ran_nothing_does_not_vouch_for_the_connection(stack, engine):
    """What counts is the last ping, not the last checkout: a session opened and closed
    without a statement proves nothing (a production test once found a connection cut by a
    PostgreSQL restart handed out this way)."""
    opened_at = time.monotonic()
    pid = trusting_backend_pid(engine)
    time.sleep(INTERVAL_S * 0.6)
    with trusting_recent_pings():
        engine.connect().close()  # checked out and back, no statement
    cut(stack, pid)
    time.sleep(max(0.0, opened_at + INTERVAL_S * 1.2 - time.monotonic()))
    assert trusting_backend_pid(engine) != pid
