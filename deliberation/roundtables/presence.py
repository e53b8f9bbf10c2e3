"""Who is connected to each roundtable session, and at which table, over every server process.

With one process (no REDIS_URL) this process's seats are the whole room. With several
(gunicorn processes behind nginx, REDIS_URL set) each holds only its own sockets, so each
publishes who is connected there for every session it serves, and a reader (the lead's
console, the people page's "connected" filter) takes the union of every live process's entry:

- `madang:roundtable:connected:<session>:<process>`: a hash {user id: table id} of the people
  with a socket of the session on that process (table id LOBBY, "0", for a person connected
  at no table: in the lobby, the lead, a theme team member), that expires TTL_S after its
  last write, so a process that dies stops counting within TTL_S;
- `madang:roundtable:connected:<session>`: a sorted set naming the processes that wrote one
  (scored by when their entry expires, pruned on writes), so a reader needs no SCAN.

People, not sockets, are counted: a person with two tabs, or a phone through one process and
a laptop through another, is one person at one table. Should one person appear at two tables
(two sockets caught mid-move), they count at a table rather than LOBBY, and at the lower
table id of two (`merge`), whichever process is read first.

A process rewrites its entry when someone's seat changes there (join, move, disconnect;
coalesced, so a room of a thousand joining is a couple of writes a second) and every
REFRESH_S while it holds seats; each write is one MULTI/EXEC of the whole hash (a 5,000-person
session: a 5,000-field HSET). Votes and chat never touch Redis.
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
#: The table id of a person connected to the session at no table (no real table has id 0).
LOBBY = 0
_PREFIX = "madang:roundtable:connected"


def _processes_key(session_id: int) -> str:
    return f"{_PREFIX}:{session_id}"


def _entry_key(session_id: int, process: str) -> str:
    return f"{_PREFIX}:{session_id}:{process}"


def merge(people: dict[int, int], places: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Add (user id, table id) pairs to `people` {user id: table id}, each person once: at a
    table rather than LOBBY, and at the lower table id of two, so any order gives the same."""
    for user_id, table_id in places:
        known = people.get(user_id)
        if known is None or known == LOBBY or (table_id != LOBBY and table_id < known):
            people[user_id] = table_id
    return people


def table_totals(people: Mapping[int, int]) -> Counter[int]:
    """How many people are connected at each table (those at no table left out)."""
    return Counter(table_id for table_id in people.values() if table_id != LOBBY)


def publish(
    client: redis.Redis,
    session_id: int,
    process: str,
    people: Mapping[int, int],
    ttl_s: float = TTL_S,
) -> None:
    """Replace one process's entry for a session, {user id: table id} (removing it when
    nobody of the session is connected there)."""
    entry, processes = _entry_key(session_id, process), _processes_key(session_id)
    now = time.time()
    pipe = client.pipeline(transaction=True)  # MULTI/EXEC: never read half-written
    pipe.delete(entry)
    if people:
        pipe.hset(entry, mapping={str(user): str(table) for user, table in people.items()})
        pipe.pexpire(entry, int(ttl_s * 1000))
        pipe.zadd(processes, {process: now + ttl_s})
        pipe.pexpire(processes, int(ttl_s * 2000))  # outlives every entry it names
    else:
        pipe.zrem(processes, process)
    # Names of processes whose entry expired long ago (a full TTL of slack for clock skew
    # between hosts; the entries themselves expire by Redis's own clock).
    pipe.zremrangebyscore(processes, "-inf", now - ttl_s)
    pipe.execute()


def read_people(client: redis.Redis, session_id: int, skip: str | None = None) -> dict[int, int]:
    """{user id: table id} over the live entries of every process (but `skip`), each person
    once (`merge`)."""
    names = [name.decode() for name in client.zrange(_processes_key(session_id), 0, -1)]
    names = [name for name in names if name != skip]
    people: dict[int, int] = {}
    if not names:
        return people
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(_entry_key(session_id, name))
    for entry in pipe.execute():  # an expired entry (dead process) reads as {}
        merge(people, ((int(user), int(table)) for user, table in entry.items()))
    return people


def read_totals(client: redis.Redis, session_id: int, skip: str | None = None) -> Counter[int]:
    """People connected per table over the live entries of every process (but `skip`)."""
    return table_totals(read_people(client, session_id, skip))


class ConnectedCounts:
    """One process's side: publishes who is connected here and reads everyone's.

    `local(session_id)` gives this process's connected people of the session, {user id: table
    id} (LOBBY: at no table); `sessions()` lists the sessions it holds people's sockets of
    (both read the namespace's seats).
    """

    def __init__(
        self,
        local: Callable[[int], Mapping[int, int]],
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

    def people(self, app: Flask, session_id: int) -> dict[int, int]:
        """Connected people of the session, {user id: table id}: this process's own, live,
        with every other process's entry, each person once."""
        local = dict(self._local(session_id))
        client = message_queue_redis(app.config.get("REDIS_URL"))
        if client is None:
            return local
        try:
            others = read_people(client, session_id, skip=self.process)
        except redis.RedisError:
            log.warning("connected people: could not read session %s from Redis", session_id)
            return local
        return merge(others, local.items())

    def totals(self, app: Flask, session_id: int) -> Counter[int]:
        """Connected people per table over every process (the lead's console)."""
        return table_totals(self.people(app, session_id))

    def user_ids(self, app: Flask, session_id: int) -> set[int]:
        """Everyone connected to the session over every process, at a table or not."""
        return set(self.people(app, session_id))

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
            log.warning("connected people: could not publish session %s", session_id)

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
