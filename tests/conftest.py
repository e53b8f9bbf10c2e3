"""Fixtures: a fresh app on a real SQLite file per test, clients, an auth helper, a live server."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from deliberation import create_app
from deliberation.config import TestConfig
from deliberation.extensions import db
from tests.factories import PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}


def test_overrides(db_path: Path) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", **FAST_ARGON2}


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(TestConfig, test_overrides(tmp_path / "test.sqlite3"))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_token_from(self._client.get(path).get_data(as_text=True))

    def login(self, email: str, password: str = PASSWORD, **extra):
        token = self.csrf("/login")
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
        )

    def logout(self):
        token = self.csrf("/profile")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real server (`python -m deliberation.serve`, gevent) on a loopback port."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = db_path.with_suffix(".server.log")
        self.log_file = None

    def start(self, extra_env: dict | None = None) -> None:
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "PORT": str(self.port),
            "SECRET_KEY": TestConfig.SECRET_KEY,
            "RUN_SCHEDULER": "1",
            **(extra_env or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deliberation.serve"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log_file,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            try:
                requests.get(self.url + "/healthz", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.log_file:
            self.log_file.close()
            self.log_file = None


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """A real server process sharing the test's SQLite file; seed through `app` first."""
    db_path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    server = LiveServer(db_path)
    server.start()
    yield server
    server.stop()


def login_session(base_url: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A requests session logged in through the real login form (for socket clients' cookies)."""
    session = requests.Session()
    page = session.get(base_url + "/login")
    token = csrf_token_from(page.text)
    response = session.post(
        base_url + "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session
