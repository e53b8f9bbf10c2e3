"""Socket.IO wiring: anonymous and cross-origin connections refused, emits wait for commit."""

import pytest
import socketio as socketio_client
from sqlalchemy import func, select

from deliberation.core.audit import AuditEntry, record
from deliberation.core.errors import DatabaseUnavailable
from deliberation.core.realtime import call_after_commit, emit_after_commit
from deliberation.extensions import db, socketio
from tests.conftest import login_cookie
from tests.factories import make_user


def test_anonymous_connection_is_refused(app, client):
    test_client = socketio.test_client(app, flask_test_client=client)
    assert not test_client.is_connected()


def test_logged_in_connection_is_accepted(app, client, auth):
    with app.app_context():
        make_user(email="sock@example.org")
    auth.login("sock@example.org")
    test_client = socketio.test_client(app, flask_test_client=client)
    assert test_client.is_connected()
    test_client.disconnect()


def test_emit_after_commit_waits_for_commit_and_drops_on_rollback(app, client, auth):
    with app.app_context():
        user = make_user(email="room@example.org")
        user_id = user.id
    auth.login("room@example.org")
    listener = socketio.test_client(app, flask_test_client=client)
    assert listener.is_connected()
    room = f"user:{user_id}"
    with app.app_context():
        emit_after_commit("hello", {"n": 1}, to=room, namespace="/")
        record("test.rollback", "test")
        assert listener.get_received() == []  # nothing before the commit
        db.session.rollback()
        emit_after_commit("hello", {"n": 2}, to=room, namespace="/")
        record("test.commit", "test")
        db.session.commit()
    received = [(m["name"], m["args"][0]) for m in listener.get_received()]
    assert received == [("hello", {"n": 2})]


@pytest.mark.slow
def test_cross_origin_handshake_with_a_victims_cookie_is_refused(app, live_server):
    with app.app_context():
        make_user(email="victim@example.org")
    cookie = login_cookie(live_server.url, "victim@example.org")

    evil = socketio_client.Client(reconnection=False)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        evil.connect(
            live_server.url,
            headers={"Cookie": cookie, "Origin": "http://evil.example.org"},
            transports=["polling"],
            wait_timeout=5,
        )

    same_site = socketio_client.Client(reconnection=False)
    same_site.connect(
        live_server.url,
        headers={"Cookie": cookie},  # the websocket client sends its own same-site Origin
        transports=["websocket"],
        wait_timeout=5,
    )
    assert same_site.connected
    same_site.disconnect()

    anonymous = socketio_client.Client(reconnection=False)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        anonymous.connect(
            live_server.url,
            headers={"Origin": live_server.url},
            # websocket: a refused polling client waits out the server's long-poll on disconnect
            transports=["websocket"],
            wait_timeout=5,
        )


def test_a_rolled_back_savepoint_keeps_earlier_broadcasts(app, client, auth):
    with app.app_context():
        user_id = make_user(email="nested@example.org").id
    auth.login("nested@example.org")
    listener = socketio.test_client(app, flask_test_client=client)
    with app.app_context():
        emit_after_commit("kept", {"n": 1}, to=f"user:{user_id}", namespace="/")
        savepoint = db.session.begin_nested()
        record("test.inner", "test")
        savepoint.rollback()
        record("test.outer", "test")
        db.session.commit()
    assert [m["name"] for m in listener.get_received()] == ["kept"]


def test_one_after_commit_rule_for_every_callback(app_ctx):
    """Queued work runs in order after the outermost commit; a rolled-back savepoint drops
    only what was queued inside it; a full rollback or a close without commit drops all."""
    ran: list[str] = []
    call_after_commit(lambda: ran.append("before"))
    savepoint = db.session.begin_nested()
    call_after_commit(lambda: ran.append("inside rolled-back savepoint"))
    record("test.inner", "test")
    savepoint.rollback()
    with db.session.begin_nested():  # a released savepoint runs nothing yet
        call_after_commit(lambda: ran.append("inside released savepoint"))
        record("test.released", "test")
    assert ran == []
    call_after_commit(lambda: ran.append("after"))
    record("test.outer", "test")
    db.session.commit()
    assert ran == ["before", "inside released savepoint", "after"]

    call_after_commit(lambda: ran.append("rolled back"))
    record("test.rollback", "test")
    db.session.rollback()
    call_after_commit(lambda: ran.append("closed"))
    record("test.closed", "test")
    db.session.close()
    record("test.next", "test")
    db.session.commit()
    assert ran == ["before", "inside released savepoint", "after"]


def test_a_failing_callback_does_not_stop_the_others_or_fail_the_commit(app_ctx, caplog):
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("socket server gone")

    call_after_commit(lambda: ran.append(1))
    call_after_commit(broken)
    call_after_commit(lambda: ran.append(2))
    record("test.commit", "test")
    db.session.commit()
    assert ran == [1, 2]
    assert "after-commit callback" in caplog.text and "socket server gone" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_the_features_queue_through_the_core_mechanism():
    from deliberation.roundtables import rooms

    assert rooms.call_after_commit is call_after_commit


def test_database_unavailable_says_so_in_korean_and_english(app):
    """What a socket event answers while the database is away (tests/production/test_faults.py
    provokes it with PostgreSQL really stopped): worded in the browser's language."""
    for language, words in (("en", "could not reach its database"), ("ko", "데이터베이스")):
        with app.test_request_context(headers={"Accept-Language": language}):
            refusal = DatabaseUnavailable()
        assert refusal.code == "database_unavailable"
        assert words in refusal.message


def test_a_socket_event_leaves_no_reference_cycle_behind(app):
    """Each event runs in a request context whose URL matches no route; the NotFound it stored
    kept the event's whole call stack and the context in a cycle for the collector (~90
    objects an event: 100-300 ms collector pauses at 5,000 people). Reference counting must
    free them: no request context may be left for the cycle collector to find."""
    import gc

    from flask.ctx import RequestContext

    from deliberation.roundtables.rooms import NAMESPACE
    from tests.roundtables.helpers import build_session, emit, joined

    with app.app_context():
        info = build_session(participants=1, facilitators=0)
    client, _ack = joined(app, info["people"][0], info["session_id"])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage
    try:
        for _ in range(20):
            assert emit(client, "snapshot", {"session_id": info["session_id"]})["ok"]
        gc.collect()
        contexts = sum(isinstance(found, RequestContext) for found in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        client.disconnect(namespace=NAMESPACE)
    assert contexts == 0
