"""Pins the private parts of Flask-SocketIO, python-socketio, python-engineio and gevent that
Madang's code relies on. An upgrade that changes one fails here, naming the code to revisit,
instead of failing quietly under load (a vote refused in the wrong words, a session re-read
per event, a tally broadcast to an empty room)."""

import inspect

import flask
import pytest
from flask_login import current_user
from flask_socketio import Namespace
from gevent import pywsgi

from deliberation.core.realtime import user_room
from deliberation.core.sessions import SocketAwareSessionInterface
from deliberation.extensions import socketio
from tests.factories import make_user


@pytest.fixture
def connected(app, client, auth):
    """A logged-in socket on the root namespace, and its Socket.IO sid."""
    with app.app_context():
        user_id = make_user(email="internals@example.org").id
    auth.login("internals@example.org")
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.is_connected()
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, "/")
    yield sock, sid, user_id
    sock.disconnect()


def test_handle_event_runs_a_handler_in_the_sockets_request_context(app, connected):
    """roundtables/poll_events.py (`_fast_vote`) words a refused fast vote through
    `SocketIO._handle_event(handler, message, namespace, sid, *args)`."""
    _sock, sid, user_id = connected
    params = list(inspect.signature(socketio._handle_event).parameters)
    assert params[:4] == ["handler", "message", "namespace", "sid"], (
        "Flask-SocketIO changed SocketIO._handle_event's signature: revisit "
        "PollEvents._fast_vote in deliberation/roundtables/poll_events.py"
    )

    def probe() -> tuple:
        return flask.request.sid, flask.request.namespace, current_user.id

    assert socketio._handle_event(probe, "probe", "/", sid) == (sid, "/", user_id), (
        "SocketIO._handle_event no longer runs a handler in the socket's request context "
        "with its login: revisit PollEvents._fast_vote in roundtables/poll_events.py"
    )


def test_the_connection_environ_holds_the_flask_app(app, connected):
    """roundtables/poll_events.py (`_fast_vote`) finds the app without a request context through
    `server.get_environ(sid, namespace)["flask.app"]`."""
    _sock, sid, _user_id = connected
    environ = socketio.server.get_environ(sid, namespace="/")
    assert environ is not None and environ.get("flask.app") is app, (
        "Flask-SocketIO no longer keeps the app in the connection's environ['flask.app']: "
        "revisit PollEvents._fast_vote in deliberation/roundtables/poll_events.py"
    )


def test_the_sockets_session_copy_is_kept_as_saved_session(app, connected):
    """core/sessions.py (SocketAwareSessionInterface) returns environ["saved_session"] instead
    of decoding the handshake's cookie again for every event."""
    _sock, sid, user_id = connected
    assert isinstance(app.session_interface, SocketAwareSessionInterface)

    def session_in_event() -> object:
        return flask.session._get_current_object()

    first = socketio._handle_event(session_in_event, "probe", "/", sid)
    environ = socketio.server.get_environ(sid, namespace="/")
    assert "saved_session" in environ, (
        "Flask-SocketIO no longer keeps a socket's session in environ['saved_session']: "
        "revisit SocketAwareSessionInterface in deliberation/core/sessions.py"
    )
    assert first is environ["saved_session"]
    assert str(user_id) in str(environ["saved_session"].get("_user_id"))
    with app.request_context(environ):
        opened = app.session_interface.open_session(app, flask.request)
    assert opened is environ["saved_session"]


def test_rooms_are_a_dict_of_namespace_room_sid(app, connected):
    """roundtables/tallies.py counts a room with `len(server.manager.rooms[ns][room])`;
    proposals/services.py reads `server.manager.rooms.get(ns, {})`; core/realtime.py and
    voting/live.py iterate `manager.get_participants(ns, room)` as (sid, eio_sid) pairs."""
    sock, sid, user_id = connected
    manager = socketio.server.manager
    room = manager.rooms.get("/", {}).get(user_room(user_id))
    assert room is not None and len(room) == 1 and sid in room, (
        "python-socketio changed manager.rooms[namespace][room][sid]: revisit "
        "roundtables/tallies.py (_recipients) and proposals/services.py (_reachable)"
    )
    participants = list(manager.get_participants("/", user_room(user_id)))
    assert participants == [(sid, sock.eio_sid)], (
        "python-socketio's get_participants no longer yields (sid, eio_sid): revisit "
        "disconnect_user in core/realtime.py and _room_is_watched in voting/live.py"
    )


def test_namespaces_are_listed_on_the_server(app):
    """core/realtime.py registers each namespace once and drops a person's sockets in every
    namespace through `server.handlers` and `server.namespace_handlers`."""
    server = socketio.server
    assert isinstance(server.handlers, dict)
    assert isinstance(server.namespace_handlers, dict)
    assert {"/", "/voting", "/agendas", "/roundtable"} <= set(server.namespace_handlers), (
        "python-socketio changed Server.namespace_handlers: revisit register_namespace_once "
        "and disconnect_user in deliberation/core/realtime.py"
    )
    for namespace in server.namespace_handlers.values():
        assert isinstance(namespace, Namespace) and namespace.socketio is socketio, (
            "Flask-SocketIO no longer sets Namespace.socketio: revisit AuthenticatedNamespace "
            "(flood disconnect) in core/realtime.py and roundtables/events.py"
        )


def test_every_event_and_disconnect_pass_through_trigger_event_with_the_sid(app, connected):
    """core/realtime.py (AuthenticatedNamespace.trigger_event) budgets events per socket by
    `args[0]` and forgets the socket when "disconnect" arrives with its sid."""
    params = list(inspect.signature(Namespace.trigger_event).parameters)
    assert params == ["self", "event", "args"], (
        "Flask-SocketIO changed Namespace.trigger_event(event, *args): revisit "
        "AuthenticatedNamespace.trigger_event in deliberation/core/realtime.py"
    )
    sock = socketio.test_client(app, flask_test_client=connected[0].flask_test_client)
    sock.connect("/voting")
    voting = socketio.server.namespace_handlers["/voting"]
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, "/voting")
    ack = sock.emit("snapshot", {"ballot_id": 999_999}, namespace="/voting", callback=True)
    assert ack["ok"] is False
    assert sid in voting._budgets, "events no longer reach trigger_event with the sid first"
    sock.disconnect("/voting")
    assert sid not in voting._budgets, "disconnect no longer reaches trigger_event with the sid"


def test_engineio_makes_events_a_batch_writer_can_wait_on(app):
    """roundtables/ballotbox.py waits for a vote's batch on `server.eio.create_event()`."""
    done = socketio.server.eio.create_event()
    assert done.wait(0.01) is False
    done.set()
    assert done.wait(0.01) is True, (
        "python-engineio's create_event changed: revisit wait_for_batch in "
        "deliberation/roundtables/ballotbox.py"
    )


def test_gevent_handler_has_what_serve_py_overrides():
    """deliberation/serve.py's WSGIHandler overrides `handle_one_response` and reads `environ`,
    `close_connection` and `socket` to end a WebSocket's connection with it."""
    assert callable(getattr(pywsgi.WSGIHandler, "handle_one_response", None))
    assert hasattr(pywsgi.WSGIHandler, "close_connection")
    assert hasattr(pywsgi.WSGIHandler, "environ")
    assert "self.socket = sock" in inspect.getsource(pywsgi.WSGIHandler.__init__), (
        "gevent's WSGIHandler no longer keeps its connection in self.socket: revisit "
        "WSGIHandler.handle_one_response in deliberation/serve.py"
    )


def test_the_redis_manager_keeps_its_subscription_in_pubsub():
    """core/queue_watch.py notices that the message queue subscribed again (after Redis came
    back) by watching python-socketio's `RedisManager.pubsub`, which the manager replaces when
    it reconnects."""
    import socketio as python_socketio

    source = inspect.getsource(python_socketio.RedisManager)
    assert "self.pubsub = " in source, (
        "RedisManager no longer keeps its subscription in `pubsub`: revisit "
        "deliberation/core/queue_watch.py (resync after a Redis outage)"
    )
