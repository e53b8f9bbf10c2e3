"""How many sockets each table has connected, added up over every server process.

With one process (no REDIS_URL) this process's seats are the whole room. With several
(gunicorn processes behind nginx, REDIS_URL set) each holds only its own sockets, so each
publishes its per-table counts for every session it serves, and the lead's console adds up
the entries of every live process:

- `madang:roundtable:connected:<session>:<process>`: a hash {table id: sockets} that expires
  TTL_S after its last write, so a process that dies stops counting within TTL_S;
- `madang:roundtable:connected:<session>`: a sorted set naming the processes that wrote one
  (scored by when their entry expires, pruned on writes), so a reader needs no SCAN.

A process rewrites its entry when a seat changes there (join, move, disconnect; coalesced, so
a room of a thousand joining is a couple of writes a second) and every REFRESH_S while it
holds seats. Votes and chat never touch Redis.
"""

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping

import redis
from flask import Flask

from deliberation.core.coalesce import Coalescer
from deliberation.core.realtime import message_queue_redis
from deliberation.extensions import socketio

log = logging.getLogger(__name__)

#: A process's entry lives this long after its last write: how long a dead process still counts.
TTL_S = 30.0
#: A live process rewrites its entries this often (three chances before they expire).
REFRESH_S = 10.0
#: Seat changes of one session become at most one write per this gap...
COALESCE_S = 0.5
#: ...sent this long after the last change of a burst.
QUIET_S = 0.1
_PREFIX = "madang:roundtable:connected"


def _processes_key(session_id: int) -> str:
    return f"{_PREFIX}:{session_id}"


def _entry_key(session_id: int, process: str) -> str:
    return f"{_PREFIX}:{session_id}:{process}"


def publish(
    client: redis.Redis,
    session_id: int,
    process: str,
    counts: Mapping[int, int],
    ttl_s: float = TTL_S,
) -> None:
    """Replace one process's counts for a session (removing its entry when it holds none)."""
    entry, processes = _entry_key(session_id, process), _processes_key(session_id)
    now = time.time()
    fields = {str(table): n for table, n in counts.items() if n > 0}
    pipe = client.pipeline(transaction=True)  # MULTI/EXEC: never read half-written
    pipe.delete(entry)
    if fields:
        pipe.hset(entry, mapping=fields)
        pipe.pexpire(entry, int(ttl_s * 1000))
        pipe.zadd(processes, {process: now + ttl_s})
        pipe.pexpire(processes, int(ttl_s * 2000))  # outlives every entry it names
    else:
        pipe.zrem(processes, process)
    # Names of processes whose entry expired long ago (a full TTL of slack for clock skew
    # between hosts; the entries themselves expire by Redis's own clock).
    pipe.zremrangebyscore(processes, "-inf", now - ttl_s)
    pipe.execute()


def read_totals(client: redis.Redis, session_id: int, skip: str | None = None) -> Counter[int]:
    """Sockets per table over the live entries of every process (but `skip`)."""
    names = [name.decode() for name in client.zrange(_processes_key(session_id), 0, -1)]
    names = [name for name in names if name != skip]
    totals: Counter[int] = Counter()
    if not names:
        return totals
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(_entry_key(session_id, name))
    for entry in pipe.execute():  # an expired entry (dead process) reads as {}
        for table, n in entry.items():
            totals[int(table)] += int(n)
    return totals


class ConnectedCounts:
    """One process's side: publishes its own counts and adds up everyone's for the console.

    `local(session_id)` counts this process's sockets per table; `sessions()` lists the
    sessions it holds seated sockets of (both read the namespace's seats).
    """

    def __init__(
        self,
        local: Callable[[int], Counter[int]],
        sessions: Callable[[], Iterable[int]],
        *,
        ttl_s: float = TTL_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._local = local
        self._sessions = sessions
        self.ttl_s = ttl_s
        self.refresh_s = refresh_s
        self._coalescer = Coalescer(COALESCE_S, self._publish, quiet_s=QUIET_S)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._process = ""
        #: The process name whose refresher runs (None: none does).
        self._refreshing: str | None = None

    @property
    def process(self) -> str:
        """This process's name in Redis: unique even if a pid is reused after a restart."""
        if self._pid != os.getpid():  # a forked child is another process
            self._pid = os.getpid()
            self._process = f"{socket.gethostname()}:{self._pid}:{secrets.token_hex(4)}"
        return self._process

    def changed(self, app: Flask, session_id: int) -> None:
        """A seat of the session changed on this process: publish soon (nothing without Redis)."""
        if message_queue_redis(app.config.get("REDIS_URL")) is None:
            return
        self._start_refresher(app)
        self._coalescer.touch(app, session_id)

    def totals(self, app: Flask, session_id: int) -> Counter[int]:
        """Connected sockets per table: this process's own, live, plus every other's."""
        local = self._local(session_id)
        client = message_queue_redis(app.config.get("REDIS_URL"))
        if client is None:
            return local
        try:
            return local + read_totals(client, session_id, skip=self.process)
        except redis.RedisError:
            log.warning("connected counts: could not read session %s from Redis", session_id)
            return local

    def stop(self) -> None:
        """Stop refreshing (the entries then expire as a dead process's do)."""
        self._refreshing = None

    def _publish(self, app: Flask, key: Hashable) -> None:
        session_id = int(key)  # type: ignore[call-overload]
        client = message_queue_redis(app.config.get("REDIS_URL"))
        if client is None:
            return
        try:
            publish(client, session_id, self.process, self._local(session_id), self.ttl_s)
        except redis.RedisError:
            # The refresher tries again; meanwhile the console shows the last entry written.
            log.warning("connected counts: could not publish session %s", session_id)

    def _start_refresher(self, app: Flask) -> None:
        # A task of this process, not a core.scheduler @periodic job: those run only in the
        # one scheduler process, which holds no sockets.
        with self._lock:
            process = self.process
            if self._refreshing == process:
                return
            self._refreshing = process
        socketio.start_background_task(self._refresh, app, process)

    def _refresh(self, app: Flask, process: str) -> None:
        """Rewrite this process's entries before they expire, for as long as it lives."""
        while True:
            socketio.sleep(self.refresh_s)
            if self._refreshing != process:
                return
            for session_id in set(self._sessions()):
                self._coalescer.touch(app, session_id)
