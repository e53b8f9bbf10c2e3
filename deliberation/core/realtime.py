"""Socket.IO plumbing shared by every feature: rooms, after-commit callbacks and broadcasts,
authenticated handlers, the per-socket event budget."""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from enum import Enum
from functools import partial, wraps
from typing import Any, TypeVar

import redis
from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, disconnect, emit, join_room
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from deliberation.core import queue_watch
from deliberation.core.errors import (
    DatabaseUnavailable,
    DomainError,
    PermissionDenied,
    is_database_outage,
)
from deliberation.core.redis_clients import message_queue_redis
from deliberation.core.room_index import client_manager
from deliberation.core.sanitize import clean_text
from deliberation.extensions import db, socketio

log = logging.getLogger(__name__)

AnEnum = TypeVar("AnEnum", bound=Enum)

#: session.info keys: the callbacks waiting for the commit, and where each open savepoint began.
_AFTER_COMMIT_KEY = "madang_after_commit"
_SAVEPOINT_MARKS_KEY = "madang_after_commit_savepoints"


def user_room(user_id: int) -> str:
    """Every socket of one person joins this room, so the server can reach or drop them all."""
    return f"user:{user_id}"


def call_after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` only if, and after, the current transaction commits.

    The one rule, for every broadcast and post-commit task in the app:
    - callbacks run in the order they were queued, after the outermost commit (a savepoint
      released inside the transaction runs nothing);
    - a rollback of the whole transaction, or a session closed without committing, drops them;
    - a savepoint rolled back inside the transaction (e.g. a caught IntegrityError) drops only
      the callbacks queued since that savepoint began; earlier ones stay queued.
    A callback that raises is logged and the others still run: the data is committed already,
    so the caller must not report a failure.
    """
    db.session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


def emit_after_commit(
    event_name: str, payload: dict[str, Any], *, to: str | list[str], namespace: str
) -> None:
    """Queue a broadcast that is sent only if, and after, the current transaction commits
    (to one room, or to several: a socket in more than one gets it once)."""
    call_after_commit(partial(socketio.emit, event_name, payload, to=to, namespace=namespace))


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        queued = len(session.info.get(_AFTER_COMMIT_KEY, ()))
        session.info.setdefault(_SAVEPOINT_MARKS_KEY, {})[transaction] = queued


@event.listens_for(Session, "after_soft_rollback")
def _drop_since_savepoint(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        mark = session.info.get(_SAVEPOINT_MARKS_KEY, {}).pop(previous_transaction, None)
        if mark is not None and _AFTER_COMMIT_KEY in session.info:
            del session.info[_AFTER_COMMIT_KEY][mark:]


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy fires after_commit when a savepoint is released too: not yet
    session.info.pop(_SAVEPOINT_MARKS_KEY, None)
    for callback in session.info.pop(_AFTER_COMMIT_KEY, []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ends after its commit ran the callbacks, or without a commit
    # (rollback, close): whatever is still queued then must never run.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
        session.info.pop(_SAVEPOINT_MARKS_KEY, None)


def error_payload(error: DomainError) -> dict[str, Any]:
    return {"ok": False, "error": error.code, "message": error.message}


def _log_refusal(handler: Callable[..., Any], error: DomainError) -> None:
    """Sockets skip Flask's access logs: every refused attempt to act is logged here."""
    if isinstance(error, PermissionDenied):
        log.warning(
            "socket event %s refused for user %s: %s",
            handler.__name__.removeprefix("on_"),
            getattr(current_user, "id", None),
            error.code,
        )


def _refuse_logged_out() -> dict[str, Any]:
    """A socket whose login ended: cut it off and say why."""
    disconnect()
    return {"ok": False, "error": "unauthenticated", "message": "Please log in again."}


def _refuse(handler: Callable[..., Any], error: DomainError) -> dict[str, Any]:
    """A refused event: logged, sent to the caller as an `error` event and as the ack."""
    _log_refusal(handler, error)
    payload = error_payload(error)
    emit("error", {**payload, "event": handler.__name__.removeprefix("on_")})
    return payload


def socket_action(handler: Callable[..., dict[str, Any] | None]) -> Callable[..., dict[str, Any]]:
    """Wrap a state-changing socket handler: re-check login, one transaction, ack after commit.

    The handler returns extra fields for the acknowledgement. A DomainError rolls back, is
    sent to the caller as an ``error`` event and as the acknowledgement, and changes nothing.
    """

    @wraps(handler)
    def wrapper(*args: Any) -> dict[str, Any]:
        try:
            # Inside the try: loading the person reads the database, which may be away.
            if not current_user.is_authenticated:
                return _refuse_logged_out()
            result = handler(*args) or {}
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            return _refuse(handler, error)
        except Exception as error:
            if is_database_outage(error):
                return _refuse_database_away(handler, error)
            db.session.rollback()
            log.exception("socket handler %s failed", handler.__name__)
            payload = {"ok": False, "error": "server_error", "message": "Something went wrong."}
            emit("error", {**payload, "event": handler.__name__.removeprefix("on_")})
            return payload
        return {"ok": True, **result}

    return wrapper


def refuse_database_away(event_name: str, error: Exception) -> dict[str, Any]:
    """The answer of every socket handler that found the database away (`is_database_outage`):
    this session's connection is invalidated (never handed out again; the pool's pre-ping
    checks the next one) and the client is told `database_unavailable`, so it sends the same
    request again in a moment. Sent as an `error` event and returned as the ack."""
    log.warning("socket event %s: the database is away (%s)", event_name, error)
    with contextlib.suppress(Exception):  # the connection is gone already
        db.session.invalidate()
    payload = error_payload(DatabaseUnavailable())
    emit("error", {**payload, "event": event_name})
    return payload


def _refuse_database_away(handler: Callable[..., Any], error: Exception) -> dict[str, Any]:
    return refuse_database_away(handler.__name__.removeprefix("on_"), error)


def socket_query(handler: Callable[..., dict[str, Any] | None]) -> Callable[..., dict[str, Any]]:
    """Wrap a read-only socket handler (snapshots): re-check login, turn DomainErrors into acks."""

    @wraps(handler)
    def wrapper(*args: Any) -> dict[str, Any]:
        try:
            if not current_user.is_authenticated:
                return _refuse_logged_out()
            return {"ok": True, **(handler(*args) or {})}
        except DomainError as error:
            return _refuse(handler, error)
        except Exception as error:
            if is_database_outage(error):
                return _refuse_database_away(handler, error)
            raise
        finally:
            with contextlib.suppress(Exception):  # after an outage the connection is gone
                db.session.rollback()

    return wrapper


#: Events one socket may send per second on average, and the burst it may send at once.
#: Apps override them with SOCKETIO_EVENTS_PER_SECOND / SOCKETIO_EVENT_BURST.
EVENTS_PER_SECOND = 20.0
EVENT_BURST = 40.0
#: A socket refused this many events without calming down (half its burst refilled) is cut off.
FLOOD_DISCONNECT_AFTER = 400
_event_budget = {"rate": EVENTS_PER_SECOND, "burst": EVENT_BURST}


class _EventBudget:
    """A token bucket per socket: sockets skip Flask-Limiter, so a flood is cut off here."""

    __slots__ = ("tokens", "stamp", "refused")

    def __init__(self, burst: float) -> None:
        self.tokens = burst
        self.stamp = time.monotonic()
        self.refused = 0

    def take(self, rate: float, burst: float) -> bool:
        now = time.monotonic()
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= burst / 2:
            self.refused = 0  # the socket calmed down: forgive earlier refusals
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.refused += 1
        return False


RATE_LIMITED_ACK = {
    "ok": False,
    "error": "rate_limited",
    "message": "Too many messages; please slow down.",
}


def _forgetting_routing_error(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler`, first dropping the routing error of the request context it runs in.

    Flask-SocketIO runs each event in a request context for the socket's URL, which matches
    no Flask route: the context stores a NotFound whose traceback holds every frame of the
    event's call stack, and those frames hold the context. That cycle (about 90 objects an
    event: frames, the request, `g`, the limiter's context, the loaded user) was freed only by
    the cycle collector, in pauses of 100-300 ms at 5,000 people (`gc.callbacks`, 2 workers).
    Without the reference, reference counting frees it all when the event ends.
    """

    @wraps(handler)
    def run(*args: Any) -> Any:
        request.routing_exception = None
        return handler(*args)

    return run


class AuthenticatedNamespace(Namespace):
    """A feature namespace that refuses anonymous connections and tracks each person's sockets.

    Every event passes a per-socket budget first (a flood is refused without touching the
    database, and a socket that keeps flooding is disconnected), and an event sent with the
    wrong number of arguments is refused instead of crashing the handler.
    """

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self._budgets: dict[str, _EventBudget] = {}
        #: With a message queue: whose each socket is, and the Redis that lists it (the
        #: disconnect runs outside the app context, and the cookie may be dead by then).
        self._indexed: dict[str, tuple[int, redis.Redis]] = {}

    def on_connect(self, auth: Any = None) -> None:
        if not current_user.is_authenticated:
            raise ConnectionRefusedError("authentication required")
        join_room(user_room(current_user.id))
        index = message_queue_redis(current_app.config.get("REDIS_URL"))
        if index is not None:
            self._indexed[request.sid] = (current_user.id, index)
            _index_socket(index, current_user.id, self.namespace, request.sid)
            queue_watch.ensure_watching(index)

    def reindex_sockets(self) -> int:
        """List this process's sockets in the index again (Redis came back empty)."""
        for sid, (user_id, index) in list(self._indexed.items()):
            _index_socket(index, user_id, self.namespace, sid)
        return len(self._indexed)

    def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "disconnect" and args:
            self._budgets.pop(args[0], None)
            indexed = self._indexed.pop(args[0], None)
            if indexed is not None:
                _unindex_socket(indexed[1], indexed[0], self.namespace, args[0])
        if not hasattr(self, "on_" + (event or "")):
            return None
        if event in ("connect", "disconnect"):
            return self.dispatch(event, *args)
        sid = args[0] if args else ""
        rate, burst = _event_budget["rate"], _event_budget["burst"]
        budget = self._budgets.setdefault(sid, _EventBudget(burst))
        if not budget.take(rate, burst):
            if budget.refused == 1:
                log.warning("socket %s on %s is flooding; events refused", sid, self.namespace)
            if budget.refused >= FLOOD_DISCONNECT_AFTER:
                log.warning("socket %s on %s disconnected for flooding", sid, self.namespace)
                self._budgets.pop(sid, None)
                self.socketio.server.disconnect(sid, namespace=self.namespace)
            return dict(RATE_LIMITED_ACK)
        try:
            return self.dispatch(event, *args)
        except TypeError:
            log.warning("socket event %s on %s with wrong arguments", event, self.namespace)
            return {"ok": False, "error": "bad_payload", "message": "Wrong message shape."}

    def dispatch(self, event: str, *args: Any) -> Any:
        """Run an event that passed the budget: Flask-SocketIO's handler, in a request context.

        A namespace may override this to serve its hottest event without one.
        """
        handler = _forgetting_routing_error(getattr(self, "on_" + event))
        return self.socketio._handle_event(handler, event, self.namespace, *args)


#: With a message queue (several server processes), each person's open sockets are listed in
#: Redis, so that logging out through one process can drop the sockets the others hold. An
#: entry older than this is pruned (that socket, if still open, drops on its next event).
SOCKET_INDEX_TTL_S = 24 * 3600


def _socket_index_key(user_id: int) -> str:
    return f"madang:sockets:user:{user_id}"


def _index_socket(index: redis.Redis, user_id: int, namespace: str, sid: str) -> None:
    """List a new socket under its person (a sorted set scored by connect time)."""
    key, now = _socket_index_key(user_id), time.time()
    try:
        pipe = index.pipeline(transaction=False)
        pipe.zadd(key, {f"{namespace} {sid}": now})
        pipe.zremrangebyscore(key, "-inf", now - SOCKET_INDEX_TTL_S)
        pipe.expire(key, SOCKET_INDEX_TTL_S)
        pipe.execute()
    except redis.RedisError:
        # The socket still works; without the entry it drops on its next event after logout.
        log.warning("socket index: could not list socket %s of user %s", sid, user_id)


def _unindex_socket(index: redis.Redis, user_id: int, namespace: str, sid: str) -> None:
    try:
        index.zrem(_socket_index_key(user_id), f"{namespace} {sid}")
    except redis.RedisError:
        log.warning("socket index: could not remove socket %s of user %s", sid, user_id)


def _indexed_sockets(index: redis.Redis | None, user_id: int) -> Iterator[tuple[str, str]]:
    """Every (namespace, sid) listed for a person, on any server process."""
    if index is None:
        return
    try:
        members = index.zrange(_socket_index_key(user_id), 0, -1)
    except redis.RedisError:
        log.warning("socket index: could not read the sockets of user %s", user_id)
        return
    for member in members:
        namespace, _sep, sid = member.decode().partition(" ")
        if sid:
            yield namespace, sid


def disconnect_user(user_id: int) -> None:
    """Drop every open socket of a person (logout, deactivation, password reset), on every
    server process.

    This process drops its own at once. With a message queue the person's sockets are also
    read from the index in Redis and each is disconnected through the queue, which the process
    holding it carries out within milliseconds (python-socketio's pub/sub manager publishes a
    disconnect for a socket it does not hold). A socket missing from the index still drops on
    its next event, when the login check fails.
    """
    server = socketio.server
    if server is None:
        return
    dropped: set[tuple[str, str]] = set()
    for namespace in list(server.handlers.keys()) + list(server.namespace_handlers.keys()):
        try:
            participants = list(server.manager.get_participants(namespace, user_room(user_id)))
        except KeyError:
            continue
        for participant in participants:
            sid = participant[0] if isinstance(participant, tuple) else participant
            server.disconnect(sid, namespace=namespace)
            dropped.add((namespace, sid))
    index = message_queue_redis(current_app.config.get("REDIS_URL"))
    elsewhere = [entry for entry in _indexed_sockets(index, user_id) if entry not in dropped]
    for namespace, sid in elsewhere:
        server.disconnect(sid, namespace=namespace)
    if index is not None and elsewhere:
        # Their processes remove the entries as they disconnect; a process that died cannot.
        try:
            index.zrem(_socket_index_key(user_id), *(f"{ns} {sid}" for ns, sid in elsewhere))
        except redis.RedisError:
            log.warning("socket index: could not prune the sockets of user %s", user_id)


def payload_dict(data: Any) -> dict[str, Any]:
    """A socket payload must be a JSON object; anything else is refused."""
    if not isinstance(data, dict):
        raise DomainError(_("The message must be an object."), code="bad_payload")
    return data


def payload_int(data: dict[str, Any], key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) < value < 2**31:
        raise DomainError(_("'%(key)s' must be a whole number.", key=key), code="bad_payload")
    return value


def payload_str(
    data: dict[str, Any], key: str, *, max_length: int, required: bool = True
) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise DomainError(_("'%(key)s' must be text.", key=key), code="bad_payload")
    if len(value) > max_length:
        message = _("'%(key)s' is too long (at most %(n)d characters).", key=key, n=max_length)
        raise DomainError(message, code="too_long")
    return clean_text(value)  # the forms' one cleaner: same refusal, same message


def payload_enum(data: dict[str, Any], key: str, kind: type[AnEnum], *, max_length: int) -> AnEnum:
    """The member of `kind` whose value `data[key]` is, or a `bad_payload` refusal."""
    value = payload_str(data, key, max_length=max_length)
    try:
        return kind(value)
    except ValueError as error:
        message = _("Unknown value: %(v)s", v=str(value)[:30])
        raise DomainError(message, code="bad_payload") from error


def client_id_from(data: dict[str, Any]) -> str:
    """The client-generated id that makes a state change idempotent."""
    value = payload_str(data, "client_id", max_length=64) or ""
    if len(value) < 8:
        raise DomainError(
            _("'%(key)s' must be at least %(n)d characters.", key="client_id", n=8),
            code="bad_payload",
        )
    return value


def socket_options(app_config: dict[str, Any]) -> dict[str, Any]:
    """Arguments for socketio.init_app, from the app's configuration."""
    _event_budget["rate"] = float(app_config.get("SOCKETIO_EVENTS_PER_SECOND", EVENTS_PER_SECOND))
    _event_budget["burst"] = float(app_config.get("SOCKETIO_EVENT_BURST", EVENT_BURST))
    options: dict[str, Any] = {
        "async_mode": app_config["SOCKETIO_ASYNC_MODE"],
        "max_http_buffer_size": app_config["SOCKETIO_MAX_MESSAGE_BYTES"],
        "ping_interval": app_config.get("SOCKETIO_PING_INTERVAL", 25),
        # None means same-origin only; never '*'.
        "cors_allowed_origins": app_config["SOCKETIO_EXTRA_ORIGINS"] or None,
        "logger": False,
        "engineio_logger": False,
    }
    # Redis as the message queue when configured, through a manager that knows each socket's
    # rooms: a disconnect does not search them all.
    options["client_manager"] = client_manager(app_config.get("REDIS_URL"))
    return options


def register_namespace_once(socketio_server: Any, namespace: Namespace) -> None:
    """create_app runs once per test: attach each namespace to the shared SocketIO only once."""
    already = {ns.namespace for ns in socketio_server.namespace_handlers}
    if namespace.namespace not in already:
        socketio_server.on_namespace(namespace)


class DefaultNamespace(AuthenticatedNamespace):
    """The root namespace: anonymous connections are refused here as everywhere."""


def register_core_namespaces(socketio_server: Any) -> None:
    register_namespace_once(socketio_server, DefaultNamespace("/"))
