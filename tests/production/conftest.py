"""The production-shaped stack for these tests, started once per session.

PostgreSQL, Redis (password), the scheduler process, two gunicorn gevent workers and nginx
with sticky routing, all on loopback ports, from scripts/localstack.py: the same code that
`make run-production` runs. Tests seed through `stack_app` (a Flask app on the stack's
database) and talk to the stack over HTTP and real Socket.IO connections.
"""

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from deliberation import create_app
from deliberation.accounts.models import User
from deliberation.config import TestConfig, postgres_engine_options
from deliberation.extensions import db
from scripts.localstack import LocalStack, StackSettings
from scripts.servers import AppWorker
from tests.conftest import FAST_ARGON2, wait_for_background_work


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    # Not pytest's tmp_path: that is private to this user, and PostgreSQL runs as `postgres`.
    directory = Path(tempfile.mkdtemp(prefix="madang-stack-"))
    settings = StackSettings(directory=directory, workers=2, schema="create-all", for_tests=True)
    local = LocalStack(settings)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(stack: LocalStack) -> None:
    """Rate-limit windows live in Redis and are shared by every worker: start each test clean.
    (Socket.IO's message queue uses pub/sub channels, not keys: flushing leaves it alone.)"""
    stack.redis.client().flushdb()


@pytest.fixture
def stack_app(stack: LocalStack) -> Iterator[Flask]:
    """A Flask app on the stack's database (and its secret key), for seeding and checking."""
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": stack.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": postgres_engine_options(),
            "SECRET_KEY": stack.secrets["secret_key"],
            **FAST_ARGON2,
        },
    )
    yield app
    wait_for_background_work()  # seeding schedules broadcasts here too (registrations)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def session_cookie(app: Flask, user: User) -> str:
    """A signed Flask session for `user`, as the login form would set it (no password round)."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    value = serializer.dumps({"_user_id": f"{user.id}:{user.session_token}", "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


class Routes:
    """nginx route cookies that pin a client to a chosen worker (found by asking nginx)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.by_port: dict[int, list[str]] = {}

    def _discover(self) -> None:
        for i in range(200):
            value = f"pin{i:04d}"
            response = requests.get(
                self.stack.url + "/healthz", cookies={"madang_route": value}, timeout=5
            )
            worker = self.stack.worker_for_upstream(response.headers["X-Madang-Upstream"])
            self.by_port.setdefault(worker.port, []).append(value)
            if all(len(self.by_port.get(w.port, [])) >= 5 for w in self.stack.workers):
                return
        raise AssertionError(f"nginx never routed to some worker: {self.by_port}")

    def value_for(self, worker: AppWorker, n: int = 0) -> str:
        if not self.by_port:
            self._discover()
        return self.by_port[worker.port][n]

    def cookie_for(self, worker: AppWorker, n: int = 0) -> str:
        """A Cookie header fragment that sends a request to `worker`."""
        return f"madang_route={self.value_for(worker, n)}"

    def pinned_session(self, worker: AppWorker) -> requests.Session:
        """A requests session (with its own cookie jar) whose requests all reach `worker`."""
        session = requests.Session()
        session.cookies.set("madang_route", self.value_for(worker))
        return session


@pytest.fixture(scope="session")
def routes(stack: LocalStack) -> Routes:
    return Routes(stack)


@contextlib.contextmanager
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
