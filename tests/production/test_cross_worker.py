"""Clients on different workers see each other's changes: Socket.IO through Redis, behind nginx.

The clients are python-socketio's own (long-polling first, then the upgrade to a WebSocket,
exactly as browsers do), pinned to a worker by nginx's route cookie.
"""

import json
import time

import pytest

from deliberation.agendas.models import Comment
from deliberation.extensions import db
from tests.agendas.helpers import make_item
from tests.factories import make_division, make_user
from tests.production.conftest import session_cookie
from tests.production.helpers import Watcher, summary

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SAMPLES = 30


def test_a_change_through_worker_a_reaches_a_client_on_worker_b(stack, stack_app, routes):
    worker_a, worker_b = stack.workers
    with stack_app.app_context():
        alice = make_user(email="alice@example.org", name="Alice Kim")
        bob = make_user(email="bob@example.org", name="Bob Lee")
        carol = make_user(email="carol@example.org", name="Carol Park")
        item_id = make_item(alice, make_division()).id
        cookies = {
            "alice": f"{session_cookie(stack_app, alice)}; {routes.cookie_for(worker_a)}",
            "carol": f"{session_cookie(stack_app, carol)}; {routes.cookie_for(worker_a, 1)}",
            "bob": f"{session_cookie(stack_app, bob)}; {routes.cookie_for(worker_b)}",
        }
        db.session.remove()
    events = ["comment_created", "reactions_changed"]
    watchers = {
        name: Watcher(stack.url, cookie, "/agendas", events) for name, cookie in cookies.items()
    }
    try:
        for watcher in watchers.values():
            assert watcher.call("join", {"item_id": item_id})["ok"]
            # Long-polling first, then the WebSocket upgrade, through nginx's sticky routing.
            deadline = time.monotonic() + 10
            while watcher.client.transport() != "websocket" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert watcher.client.transport() == "websocket"
        alice, bob, carol = watchers["alice"], watchers["bob"], watchers["carol"]

        posted = alice.call(
            "post_comment",
            {"item_id": item_id, "body": "Posted on worker A", "client_id": "cross-worker-1"},
        )
        assert posted["ok"], posted
        bob.wait_for(1)
        assert bob.received[0][1] == "comment_created"
        assert bob.received[0][2]["comment"]["id"] == posted["comment"]["id"]
        carol.wait_for(1)

        cross_worker, same_worker, b_to_a = [], [], []
        values = ["agree", "disagree", "pass"]
        comment_id = posted["comment"]["id"]
        for i in range(SAMPLES):
            # Alternate senders: A -> (B across workers, Carol on A), then B -> (Alice on A).
            sender = alice if i % 2 == 0 else bob
            receivers = [bob, carol] if sender is alice else [alice]
            expected = {id(r): len(r.received) + 1 for r in receivers}
            sent_at = time.perf_counter()
            ack = sender.call("react", {"comment_id": comment_id, "value": values[i % 3]})
            assert ack["ok"], ack
            for receiver in receivers:
                arrived = receiver.wait_for(expected[id(receiver)])
                delay = arrived - sent_at
                if sender is alice and receiver is bob:
                    cross_worker.append(delay)
                elif sender is alice:
                    same_worker.append(delay)
                else:
                    b_to_a.append(delay)
        figures = {
            "a_to_b_cross_worker": summary(cross_worker),
            "b_to_a_cross_worker": summary(b_to_a),
            "a_to_a_same_worker": summary(same_worker),
        }
        print("DELIVERY", json.dumps(figures))  # noqa: T201 - figures for the report
        assert max(cross_worker + b_to_a + same_worker) < 2.0, figures
        # Every client ends with the counts the database holds.
        with stack_app.app_context():
            stored = db.session.get(Comment, comment_id).counts()
            db.session.remove()
        # (the last sends were Bob's, and only Alice's copy was waited for)
        latest = [
            w.wait_until_last(lambda data: data.get("counts") == stored)["counts"]
            for w in watchers.values()
        ]
        assert latest == [stored] * 3
    finally:
        for watcher in watchers.values():
            watcher.client.disconnect()
