"""Socket.IO wiring: anonymous and cross-origin connections refused, emits wait for commit."""

import pytest
import socketio as socketio_client

from deliberation.core.audit import record
from deliberation.core.realtime import emit_after_commit
from deliberation.extensions import db, socketio
from tests.conftest import login_session
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
    session = login_session(live_server.url, "victim@example.org")
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())

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
