"""Logging out, being deactivated or resetting the password drops the person's open sockets on
every worker within seconds, not only on the worker that served the request.

Each person holds two sockets (python-socketio clients, long-polling then WebSocket through
nginx), pinned by the route cookie to different workers and on different namespaces; the act
goes through HTTP on one worker. Without the socket index in Redis the socket on the other
worker would stay open until its next event.
"""

import json
import time

import pytest
import requests

from deliberation.accounts.models import Role
from deliberation.accounts.services import make_reset_token
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_user
from tests.production.helpers import Watcher

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DROP_WITHIN_S = 3.0
NEW_PASSWORD = "a brand new passphrase 42"  # noqa: S105


def logged_in(stack, routes, worker, email: str) -> requests.Session:
    """A real login through nginx, pinned to `worker`."""
    session = routes.pinned_session(worker)
    token = csrf_token_from(session.get(stack.url + "/login", timeout=10).text)
    response = session.post(
        stack.url + "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=20,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def indexed(stack, user_id: int) -> int:
    """How many sockets of the person the Redis index lists (on every worker)."""
    return stack.redis.client().zcard(f"madang:sockets:user:{user_id}")


def wait_until(predicate, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def sockets_of(stack, routes, session: requests.Session, user_id: int) -> list[Watcher]:
    """Two sockets of the person logged in by `session`: /agendas on worker A, /voting on B."""
    cookie = f"session={session.cookies.get('session')}"
    watchers = [
        Watcher(stack.url, f"{cookie}; {routes.cookie_for(worker, 2)}", namespace, [])
        for worker, namespace in zip(stack.workers, ("/agendas", "/voting"), strict=True)
    ]
    assert wait_until(lambda: indexed(stack, user_id) == 2), indexed(stack, user_id)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(
        w.client.transport() == "websocket" for w in watchers
    ):
        time.sleep(0.05)
    assert [w.client.transport() for w in watchers] == ["websocket", "websocket"]
    assert all(w.client.connected for w in watchers)
    return watchers


def seconds_until_dropped(watchers: list[Watcher], started: float) -> list[float | None]:
    """When each socket was dropped (from `started`), None for one still open after the limit."""
    dropped: list[float | None] = [None] * len(watchers)
    while time.monotonic() - started < DROP_WITHIN_S and None in dropped:
        for i, watcher in enumerate(watchers):
            if dropped[i] is None and not watcher.client.connected:
                dropped[i] = round(time.monotonic() - started, 3)
        time.sleep(0.01)
    for watcher in watchers:
        if watcher.client.connected:
            watcher.client.disconnect()
    return dropped


def test_logout_deactivation_and_reset_drop_sockets_on_every_worker(stack, stack_app, routes):
    worker_a, worker_b = stack.workers
    with stack_app.app_context():
        make_user(Role.ADMIN, email="sweeper@example.org")
        leaver_id = make_user(email="leaver@example.org").id
        deactivated = make_user(email="deactivated@example.org").id
        resetter = make_user(email="resetter@example.org")
        resetter_id = resetter.id
        reset_link = f"/password/reset/{make_reset_token(resetter, stack.secrets['secret_key'])}"
    figures = {}

    # 1. Logging out through worker A drops the socket held by worker B too.
    leaver = logged_in(stack, routes, worker_a, "leaver@example.org")
    watchers = sockets_of(stack, routes, leaver, leaver_id)
    # A socket the browser closes itself leaves the index (its worker removes the entry).
    cookie = f"session={leaver.cookies.get('session')}; {routes.cookie_for(worker_b, 3)}"
    closed_tab = Watcher(stack.url, cookie, "/proposals", [])
    assert wait_until(lambda: indexed(stack, leaver_id) == 3)
    closed_tab.client.disconnect()
    assert wait_until(lambda: indexed(stack, leaver_id) == 2)
    token = csrf_token_from(leaver.get(stack.url + "/profile", timeout=10).text)
    started = time.monotonic()
    assert leaver.post(stack.url + "/logout", data={"csrf_token": token}, timeout=10).ok
    figures["logout"] = seconds_until_dropped(watchers, started)

    # 2. An admin on worker B deactivates an account: its socket on worker A drops too.
    victim = logged_in(stack, routes, worker_a, "deactivated@example.org")
    watchers = sockets_of(stack, routes, victim, deactivated)
    admin = logged_in(stack, routes, worker_b, "sweeper@example.org")
    page = admin.get(f"{stack.url}/admin/users/{deactivated}", timeout=10).text
    started = time.monotonic()
    response = admin.post(
        f"{stack.url}/admin/users/{deactivated}",
        data={"csrf_token": csrf_token_from(page)},  # every box unticked: inactive
        timeout=10,
    )
    assert response.ok
    figures["deactivation"] = seconds_until_dropped(watchers, started)

    # 3. A password reset (the link opened on worker B) drops the old sockets everywhere.
    old = logged_in(stack, routes, worker_a, "resetter@example.org")
    watchers = sockets_of(stack, routes, old, resetter_id)
    browser = routes.pinned_session(worker_b)
    token = csrf_token_from(browser.get(stack.url + reset_link, timeout=10).text)
    started = time.monotonic()
    response = browser.post(
        stack.url + reset_link,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=20,
    )
    assert response.status_code == 302, response.text[:300]
    figures["password reset"] = seconds_until_dropped(watchers, started)

    print("DISCONNECT", json.dumps(figures))  # noqa: T201 - figures for the report
    assert all(None not in dropped for dropped in figures.values()), figures
    # Nothing is left in the index once the sockets are gone. A worker sends the disconnect
    # before it removes the entry (python-socketio runs the disconnect handler after sending
    # the packet, and the removal is a Redis call), so the client can see it first.
    people = (leaver_id, deactivated, resetter_id)
    assert wait_until(lambda: [indexed(stack, uid) for uid in people] == [0, 0, 0]), [
        indexed(stack, uid) for uid in people
    ]
