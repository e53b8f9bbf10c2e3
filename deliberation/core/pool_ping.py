"""Ping a pooled PostgreSQL connection at checkout, except for the group-commit writers, which
skip the ping when the connection was checked less than a second ago.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` at every checkout: a round trip before each
transaction. On a gevent worker under load each round trip also waits for the event loop to
come round, and the room-poll vote writer checks out a connection per batch, so the ping was
one of its seven round trips (BEGIN, ping, voters, poll, votes, audit, COMMIT). Inside
`trusting_recent_pings()` a connection opened or pinged within `PING_INTERVAL_S` is used
without a ping. A PostgreSQL restart within that second then fails one batch, which
SQLAlchemy reports as a disconnect and answers by replacing every pooled connection; the
writers already refuse a failed batch and the person sends again ("not recorded"), as for
any outage. Everything else (pages, socket reads) pings at every checkout, as before, so a
restart is invisible to it.

The time kept is that of the last ping, not of the last use: a checkout that runs no
statement (a session opened and closed) proves nothing about the connection.
"""

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event, exc

#: Inside `trusting_recent_pings`, a connection opened or pinged this recently is not pinged.
PING_INTERVAL_S = 1.0

_VERIFIED_AT = "madang_verified_at"
_trusting: ContextVar[bool] = ContextVar("trusting_recent_pings", default=False)


@contextlib.contextmanager
def trusting_recent_pings() -> Iterator[None]:
    """Checkouts in this block (this greenlet) skip the ping after a recent one."""
    token = _trusting.set(True)
    try:
        yield
    finally:
        _trusting.reset(token)


def install_pings(engine: Engine, interval_s: float = PING_INTERVAL_S) -> None:
    """Replace `pool_pre_ping` on `engine` (which must have it off) with the rule above."""

    @event.listens_for(engine.pool, "connect")
    def opened(_dbapi_connection: Any, record: Any) -> None:
        record.info[_VERIFIED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping_unless_recent(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        now = time.monotonic()
        if _trusting.get() and now - record.info.get(_VERIFIED_AT, 0.0) <= interval_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(str(error)) from error
        record.info[_VERIFIED_AT] = now
