"""Against the real gevent server with python-socketio clients: reconnect catch-up, the
message size limit, the scheduler ending a phase, and the rehearsal command end to end."""

import json
import threading
import time

import socketio as socketio_client
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import models, sessions
from deliberation.roundtables.models import ChatMessage, Participant, RoundtableSession
from deliberation.roundtables.rooms import NAMESPACE
from loadtest.loadclient import LightClient, SocketIOError
from tests.conftest import login_cookie
from tests.production.helpers import run_async
from tests.roundtables.helpers import build_session, cid


class Person:
    """A python-socketio client logged in through the real login form."""

    def __init__(self, base_url: str, email: str):
        self.cookie = login_cookie(base_url, email)
        self.base_url = base_url
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.client = self._new_client()

    def _new_client(self):
        client = socketio_client.Client(reconnection=False)

        @client.on("*", namespace=NAMESPACE)
        def any_event(event, data=None):
            with self.lock:
                self.events.append((event, data))

        client.connect(self.base_url, namespaces=[NAMESPACE], transports=["websocket"],
                       headers={"Cookie": self.cookie}, wait_timeout=10)  # fmt: skip
        return client

    def call(self, event, data):
        return self.client.call(event, data, namespace=NAMESPACE, timeout=10)

    def named(self, name):
        with self.lock:
            return [data for event, data in self.events if event == name]

    def wait_for(self, name, predicate=lambda data: True, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [d for d in self.named(name) if predicate(d)]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {name} event")


def running_session(app, people=12):
    with app.app_context():
        info = build_session(participants=people, facilitators=0, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, models.Phase.DISCUSSION)
        db.session.commit()
        emails = {
            uid: db.session.get(User, uid).email for uid in [info["lead_id"], *info["people"]]
        }
        tables = dict(
            db.session.execute(
                select(Participant.user_id, Participant.table_id).where(
                    Participant.session_id == session.id
                )
            ).all()
        )
    return info, emails, tables


def test_reconnect_catches_up_with_phase_chat_and_sequence(app, live_server):
    info, emails, tables = running_session(app)
    sid = info["session_id"]
    lead = Person(live_server.url, emails[info["lead_id"]])
    assert lead.call("join", {"session_id": sid})["ok"]
    first, *others = info["people"]
    mate = next(u for u in others if tables[u] == tables[first])
    alice = Person(live_server.url, emails[first])
    before = alice.call("join", {"session_id": sid})["snapshot"]
    alice.client.disconnect()
    # While Alice is away: a table-mate chats and the lead moves the room on.
    friend = Person(live_server.url, emails[mate])
    friend.call("join", {"session_id": sid})
    assert friend.call("chat_send", {"session_id": sid, "text": "You missed this",
                                     "client_id": cid()})["ok"]  # fmt: skip
    assert lead.call("phase_set", {"session_id": sid, "phase": "submissions",
                                   "duration_s": 300})["ok"]  # fmt: skip
    alice.client = alice._new_client()
    after = alice.call("join", {"session_id": sid})["snapshot"]
    assert after["seq"] > before["seq"]
    assert after["phase"] == "submissions" and 290 <= after["remaining_s"] <= 300
    assert [m["body"] for m in after["chat"]] == ["You missed this"]
    assert after["seat"] == before["seat"]
    for person in (alice, friend, lead):
        person.client.disconnect()


def test_message_over_the_size_limit_is_dropped(app, live_server):
    info, emails, tables = running_session(app)
    sid = info["session_id"]
    bob = Person(live_server.url, emails[info["people"][1]])
    bob.call("join", {"session_id": sid})
    cookie = login_cookie(live_server.url, emails[info["people"][0]])

    async def oversized() -> tuple[dict, bool]:
        alice = LightClient(live_server.url, NAMESPACE, cookie)
        await alice.connect()
        await alice.call("join", {"session_id": sid})
        refused = await alice.call(
            "chat_send", {"session_id": sid, "text": "x" * 600, "client_id": cid()}
        )
        await alice.emit("chat_send", {"session_id": sid, "text": "y" * 70_000, "client_id": cid()})
        # The server drops the socket that sent more than 64 KiB: nothing it sends is answered.
        try:
            await alice.call("snapshot", {"session_id": sid}, timeout=3)
            dropped = False
        except (TimeoutError, SocketIOError):
            dropped = True
        await alice.close()
        return refused, dropped

    refused, dropped = run_async(oversized())
    assert refused["error"] == "too_long"
    assert dropped  # the server closed the socket that sent more than 64 KiB
    assert bob.call("chat_send", {"session_id": sid, "text": "still fine", "client_id": cid()})[
        "ok"
    ]
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 1
    bob.client.disconnect()


def test_the_server_ends_an_expired_phase_by_itself(app, live_server):
    info, emails, _tables = running_session(app)
    sid = info["session_id"]
    lead = Person(live_server.url, emails[info["lead_id"]])
    alice = Person(live_server.url, emails[info["people"][0]])
    alice.call("join", {"session_id": sid})
    lead.call("join", {"session_id": sid})
    assert lead.call("phase_set", {"session_id": sid, "phase": "submissions", "duration_s": 1})[
        "ok"
    ]
    moved = alice.wait_for("phase", lambda d: d["phase"] == "synthesis", timeout=8)
    assert moved["ends_at"] is None
    for person in (alice, lead):
        person.client.disconnect()


def test_rehearsal_command_runs_a_small_session(runner):
    result = runner.invoke(args=["rehearse", "--participants", "30", "--window", "0.5",
                                 "--timeout", "30"])  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["errors"] == 0, figures
    assert figures["participants"] == figures["connected"] == figures["votes"] == 30
    for key in ("connect_s", "phase_p99_ms", "chat_p99_ms", "ack_p50_ms", "ack_p99_ms",
                "converge_ms", "server_rss_mb"):  # fmt: skip
        assert figures[key] is not None and figures[key] > 0, key
    # Each person votes once their page shows the poll, as a browser must, never before.
    assert figures["votes_before_poll_shown"] == 0
    assert 0 < figures["poll_shown_p99_ms"] < 30_000
    # The load process's own lateness during the poll: a 10 ms timer, at least once a tick.
    lag = figures["poll_client_lag_ms"]
    assert 0 <= lag["p99"] <= lag["max"] < 30_000, lag
