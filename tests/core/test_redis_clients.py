"""Every Redis client of the app comes from one factory, with timeouts: a stalled Redis fails
a request in seconds instead of hanging the worker."""

import re
import socket
import time
from pathlib import Path

import pytest
import redis

from deliberation.core import redis_clients
from deliberation.core.redis_clients import REDIS_TIMEOUTS, message_queue_redis, redis_client
from deliberation.voting.live import next_sequence

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLIENT_MADE = re.compile(r"\b(?:redis\.)?(?:Redis|StrictRedis)(?:\.from_url)?\(|redis\.from_url\(")


@pytest.fixture
def silent_redis():
    """A port that accepts connections (the kernel's backlog) but never answers a command."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        yield url
        # Close the factory's client for this URL now: left to the garbage collector, its
        # socket warns (ResourceWarning) inside whichever test runs next.
        client = redis_clients._clients.pop(url, None)
        if client is not None:
            client.connection_pool.disconnect()


def test_a_stalled_redis_fails_the_voting_sequence_within_the_timeout(app, silent_redis):
    app.config["REDIS_URL"] = silent_redis
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            next_sequence()
    assert time.monotonic() - started < REDIS_TIMEOUTS["socket_timeout"] + 2


def test_one_client_per_url_with_the_timeouts(silent_redis):
    client = redis_client(silent_redis)
    assert message_queue_redis(silent_redis) is client
    assert message_queue_redis(None) is None
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 2


def test_no_module_makes_its_own_redis_client():
    factory = PROJECT_ROOT / "deliberation" / "core" / "redis_clients.py"
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for folder in ("deliberation", "scripts", "loadtest")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path != factory
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CLIENT_MADE.search(line)
    ]
    assert not offenders, f"use deliberation.core.redis_clients.redis_client: {offenders}"
