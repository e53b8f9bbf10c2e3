"""Rate limits while Redis is away (docs/deploy.md, "When something fails"): each process counts
in its own memory with the same limits, so a person is neither refused for want of Redis nor
free of the limit."""

import socket

import pytest

from deliberation.core import throttle
from deliberation.core.errors import RateLimited


@pytest.fixture
def dead_redis_url():
    """A loopback port nobody listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"
    throttle._limiters.clear()
    throttle._fallbacks.clear()


def test_limits_hold_in_memory_while_redis_does_not_answer(app, dead_redis_url):
    app.config["RATELIMIT_STORAGE_URI"] = dead_redis_url
    with app.test_request_context():
        throttle.enforce("chat", 7, "2/minute")
        throttle.enforce("chat", 7, "2/minute")  # neither refused nor crashed
        with pytest.raises(RateLimited):
            throttle.enforce("chat", 7, "2/minute")
        throttle.enforce("chat", 8, "2/minute")  # someone else has their own window
