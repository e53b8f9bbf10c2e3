"""Socket abuse against the real gevent server: cross-site hijacking, anonymous connects, huge
messages, floods, and sockets that outlive their login."""

import statistics
import threading
import time
import uuid

import pytest
import requests
import socketio as socketio_client

from deliberation.accounts.models import Role
from deliberation.agendas import services as agendas
from deliberation.extensions import db
from tests.conftest import cookie_header, csrf_token_from, login_cookie, login_session
from tests.factories import make_division, make_user
from tests.security.support import registered_handlers

pytestmark = [
    pytest.mark.slow,
    # A refused handshake leaves the client library's socket to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


_opened: list[socketio_client.Client] = []


@pytest.fixture(autouse=True)
def close_every_client():
    """Close each client a test opened, also those the server dropped: python-engineio's client
    leaves its WebSocket open when the server ends the connection, and the socket's
    ResourceWarning (an error here) would fail whichever later test the collector runs in."""
    yield
    while _opened:
        client = _opened.pop()
        if client.connected:
            client.disconnect()
        if getattr(client.eio, "ws", None) is not None:
            client.eio.ws.shutdown()  # close() does nothing once the peer has closed


def connect(url: str, cookie: str | None, namespace: str, *, transport="websocket", origin=None):
    client = socketio_client.Client(reconnection=False)
    _opened.append(client)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if origin:
        headers["Origin"] = origin
    client.connect(
        url, headers=headers, transports=[transport], namespaces=[namespace], wait_timeout=5
    )
    return client


def wait_until(predicate, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


@pytest.fixture
def seeded(app):
    with app.app_context():
        division = make_division("abuse")
        admin = make_user(Role.ADMIN, email="abuse-admin@example.org")
        people = [make_user(email=f"abuse{n}@example.org") for n in range(6)]
        item = agendas.propose_item(people[0], division_id=division.id, title="Flood", body="x")
        agendas.start_discussion(admin, item.id)
        db.session.commit()
        return {"item_id": item.id, "emails": [p.email for p in people], "admin": admin.email}


def test_cross_origin_and_anonymous_handshakes_are_refused_on_every_namespace(
    app, seeded, live_server
):
    cookie = login_cookie(live_server.url, seeded["emails"][0])
    namespaces = sorted(registered_handlers())
    assert namespaces
    for namespace in namespaces:
        for transport in ("polling", "websocket"):
            with pytest.raises(socketio_client.exceptions.ConnectionError):
                connect(
                    live_server.url,
                    cookie,
                    namespace,
                    transport=transport,
                    origin="http://evil.example.org",
                )
            with pytest.raises(socketio_client.exceptions.ConnectionError):
                connect(live_server.url, None, namespace, transport=transport)
        # The same cookie from this site's own origin is accepted: the refusals above are real.
        same_site = connect(live_server.url, cookie, namespace)  # sends its own origin
        assert same_site.connected
        same_site.disconnect()


def test_a_two_megabyte_message_is_dropped_and_the_server_carries_on(app, seeded, live_server):
    cookie = login_cookie(live_server.url, seeded["emails"][1])
    big = connect(live_server.url, cookie, "/agendas")
    answers = []
    big.emit(
        "join",
        {"item_id": seeded["item_id"], "since_seq": 0, "pad": "x" * (2 * 1024 * 1024)},
        namespace="/agendas",
        callback=lambda *a: answers.append(a),
    )
    assert wait_until(lambda: not big.connected, 10) is not None, "2 MB message not dropped"
    assert answers == []
    other = connect(live_server.url, cookie, "/agendas")
    ack = other.call(
        "join", {"item_id": seeded["item_id"], "since_seq": 0}, namespace="/agendas", timeout=5
    )
    assert ack["ok"] is True
    other.disconnect()
    assert requests.get(live_server.url + "/healthz", timeout=5).status_code == 200


def test_a_flooding_client_is_throttled_while_others_keep_their_latency(
    app, seeded, live_server, capsys
):
    item_id = seeded["item_id"]
    flooder_cookie = login_cookie(live_server.url, seeded["emails"][2])
    flooder = connect(live_server.url, flooder_cookie, "/agendas")
    observers = [
        connect(live_server.url, login_cookie(live_server.url, e), "/agendas")
        for e in seeded["emails"][3:6]
    ]
    for observer in observers:
        assert observer.call(
            "join", {"item_id": item_id, "since_seq": 0}, namespace="/agendas", timeout=5
        )["ok"]

    acks: list[dict] = []
    lock = threading.Lock()

    def record(answer=None):
        with lock:
            acks.append(answer)

    latencies: list[float] = []
    stop = threading.Event()

    def observe(client):
        while not stop.is_set():
            start = time.perf_counter()
            answer = client.call(
                "snapshot",
                {"item_id": item_id, "since_seq": 10**6},
                namespace="/agendas",
                timeout=5,
            )
            latencies.append(time.perf_counter() - start)
            assert answer["ok"] is True
            time.sleep(0.5)  # a person's pace: stays inside the per-person limit

    threads = [threading.Thread(target=observe, args=(o,), daemon=True) for o in observers]
    for thread in threads:
        thread.start()
    sent = 0
    start = time.monotonic()
    while sent < 2000 and flooder.connected:  # bounded: at most 2,000 events in ~2 s
        flooder.emit("leave", {"item_id": item_id}, namespace="/agendas", callback=record)
        sent += 1
        target = start + sent / 1000  # 1,000 events per second
        if (delay := target - time.monotonic()) > 0:
            time.sleep(delay)
    wait_until(lambda: len(acks) >= sent or not flooder.connected, 10)
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(10)
    with lock:
        answered = list(acks)
    refused = [i for i, a in enumerate(answered) if a and a.get("error") == "rate_limited"]
    accepted = sum(1 for a in answered if a and a.get("ok"))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    with capsys.disabled():
        print(
            f"\n[flood] sent {sent} events at ~1000/s; accepted {accepted}; first refusal at "
            f"event #{refused[0] + 1 if refused else None}; refused {len(refused)}; flooder "
            f"disconnected: {not flooder.connected}; observers' snapshot p99 "
            f"{p99 * 1000:.0f} ms (median {statistics.median(latencies) * 1000:.0f} ms, "
            f"n={len(latencies)})"
        )
    assert refused, "the flood was never throttled"
    assert not flooder.connected, "a socket that kept flooding was not disconnected"
    assert accepted <= 40 + 20 * (time.monotonic() - start) + 1
    assert len(latencies) >= 6
    # About twenty samples, so the p99 is the slowest one: a busy CI machine once took 0.56 s.
    assert statistics.median(latencies) < 0.2, f"other clients' median {latencies}"
    assert p99 < 0.75, f"other clients' p99 latency {p99:.3f}s"
    assert requests.get(live_server.url + "/healthz", timeout=5).status_code == 200
    for observer in observers:
        observer.disconnect()
    if flooder.connected:
        flooder.disconnect()


def test_logout_and_deactivation_disconnect_open_sockets_within_seconds(
    app, seeded, live_server, capsys
):
    namespaces = sorted(registered_handlers())
    # 1. Logging out (in another tab) drops every socket of that person, on every namespace.
    with login_session(live_server.url, seeded["emails"][4]) as session:
        sockets = [connect(live_server.url, cookie_header(session), ns) for ns in namespaces]
        token = csrf_token_from(session.get(live_server.url + "/profile").text)
        session.post(live_server.url + "/logout", data={"csrf_token": token})
    logout_s = wait_until(lambda: not any(s.connected for s in sockets), 5)
    assert logout_s is not None, "a logged-out person's sockets stayed open"

    # 2. An admin deactivating an account drops its open sockets too.
    victim_cookie = login_cookie(live_server.url, seeded["emails"][5])
    victim_sockets = [connect(live_server.url, victim_cookie, ns) for ns in namespaces]
    with app.app_context():
        from deliberation.accounts.services import find_user_by_email

        victim_id = find_user_by_email(seeded["emails"][5]).id
    with login_session(live_server.url, seeded["admin"]) as admin:
        page = admin.get(f"{live_server.url}/admin/users/{victim_id}").text
        admin.post(
            f"{live_server.url}/admin/users/{victim_id}",
            data={"csrf_token": csrf_token_from(page)},  # every box unticked: inactive
        )
    deactivate_s = wait_until(lambda: not any(s.connected for s in victim_sockets), 5)
    assert deactivate_s is not None, "a deactivated person's sockets stayed open"
    # And the old cookie cannot open a new one.
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        connect(live_server.url, victim_cookie, namespaces[-1])
    with capsys.disabled():
        print(
            f"\n[disconnect] logout dropped sockets in {logout_s:.2f}s; deactivation in "
            f"{deactivate_s:.2f}s"
        )


def test_socket_events_after_the_cookie_dies_are_refused(app, seeded, live_server):
    """Even without the push, a socket whose session was ended cannot act: every handler re-checks
    the login (the multi-worker fallback)."""
    sock = connect(live_server.url, login_cookie(live_server.url, seeded["emails"][1]), "/agendas")
    with app.app_context():
        from deliberation.accounts.services import end_all_sessions, find_user_by_email

        end_all_sessions(find_user_by_email(seeded["emails"][1]))
        db.session.commit()
    answers = []
    sock.emit(
        "post_comment",
        {"item_id": seeded["item_id"], "body": "after logout", "client_id": uuid.uuid4().hex},
        namespace="/agendas",
        callback=lambda *a: answers.append(a),
    )
    wait_until(lambda: answers or not sock.connected, 5)
    assert not answers or answers[0][0]["ok"] is False
    with app.app_context():
        from sqlalchemy import func, select

        from deliberation.agendas.models import Comment

        assert db.session.scalar(select(func.count(Comment.id))) == 0
