"""Live servers forked from one pre-imported process each take their own configuration."""

import json
import shutil
import time
from pathlib import Path

import pytest
import requests

from deliberation import create_app
from deliberation.config import TestConfig
from loadtest.liveserver import LiveServer
from loadtest.serverfork import ServerForker
from tests.conftest import browser_handshake, config_overrides, login_cookie
from tests.factories import make_user
from tests.production.helpers import run_async


def _database_with(email: str, template: Path, path: Path) -> str:
    """A copy of the empty template database holding one person, `email`."""
    shutil.copyfile(template, path)
    app = create_app(TestConfig, config_overrides(path))
    with app.app_context():
        make_user(email=email)
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _ping_interval_ms(server: LiveServer) -> int:
    _extensions, _in_use, opened = run_async(browser_handshake(server.url))
    return json.loads(opened[1:])["pingInterval"]


def test_two_forked_servers_each_read_their_own_environment(tmp_path, sqlite_template):
    forker = ServerForker()
    servers = [
        LiveServer(
            _database_with(f"{name}@example.org", sqlite_template, tmp_path / f"{name}.sqlite3"),
            tmp_path / f"{name}.log",
            secret_key=secret,
            env={"SOCKETIO_PING_INTERVAL": interval},
            start_timeout=30,
            forker=forker,
        )
        for name, secret, interval in (("ann", "a" * 64, "3"), ("bo", "b" * 64, "7"))
    ]
    try:
        for server in servers:
            server.start()
        ann, bo = servers
        # Each its own database: a person of one cannot log in on the other.
        assert login_cookie(ann.url, "ann@example.org")
        assert login_cookie(bo.url, "bo@example.org")
        with pytest.raises(AssertionError):
            login_cookie(ann.url, "bo@example.org")
        # Each its own settings, read from the environment when the configuration loads.
        assert _ping_interval_ms(ann) == 3000
        assert _ping_interval_ms(bo) == 7000
        # Each its own secret key: one's session cookie means nothing to the other.
        cookie = login_cookie(ann.url, "ann@example.org")
        assert requests.get(ann.url + "/profile", headers={"Cookie": cookie}).ok
        elsewhere = requests.get(
            bo.url + "/profile", headers={"Cookie": cookie}, allow_redirects=False
        )
        assert elsewhere.status_code == 302 and "/login" in elsewhere.headers["Location"]
        assert ann.pid != bo.pid
    finally:
        for server in servers:
            server.stop()
        forker.close()
    assert all(server.process.poll() is not None for server in servers)


def test_servers_still_running_end_with_the_forker(tmp_path, sqlite_template):
    forker = ServerForker()
    server = LiveServer(
        _database_with("cy@example.org", sqlite_template, tmp_path / "cy.sqlite3"),
        tmp_path / "cy.log",
        start_timeout=30,
        forker=forker,
    )
    try:
        server.start()
    finally:
        forker.close()  # as when the test process ends
    process = server.process
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is not None, "the forked server outlived its forker"
    server.stop()


def test_a_server_that_cannot_start_says_why(tmp_path, server_forker):
    server = LiveServer(
        "notadatabase://",
        tmp_path / "broken.log",
        start_timeout=30,
        forker=server_forker,
    )
    with pytest.raises(RuntimeError, match="the live server exited"):
        server.start()
    assert "notadatabase" in (tmp_path / "broken.log").read_text()
