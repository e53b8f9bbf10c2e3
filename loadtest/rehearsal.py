"""The rehearsal: a whole synthetic roundtable with N real Socket.IO clients over websockets.

Steps: create people and a session (in the target's database), connect and join everyone,
seat the room, start, change phase, table chat, ideas, themes, a room poll in which every
participant votes once at a random moment within the window, close. Every wait is bounded.

Faults (issue 18): with `fault_command`, that shell command runs in the middle of the poll's
window (scripts/localstack.py makes it inject a worker kill, a Redis restart or a PostgreSQL
restart). Every client behaves like the browser's live.js throughout: a lost connection is
reconnected with backoff and full jitter, the seat rejoined with a fresh snapshot, and a vote
without an acknowledgement sent again with the same `client_id` (a refusal because the server
could not write it is retried the same way, as a person presses Vote again). Afterwards the
votes acknowledged are compared with the rows in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import uvloop
import websockets
from flask import Flask
from sqlalchemy import select

from deliberation import create_app
from deliberation.config import Config
from deliberation.extensions import db
from deliberation.roundtables.models import PollVote
from deliberation.roundtables.rooms import NAMESPACE
from loadtest import payloads
from loadtest.cast import Cast, create_cast
from loadtest.consolewatch import ConsoleWatch
from loadtest.liveserver import LiveServer
from loadtest.loadclient import (
    RECONNECT_BASE_S,
    RECONNECT_CAP_S,
    LightClient,
    SocketIOError,
    loopback_only,
    raise_fd_limit,
)

HANDSHAKES_IN_FLIGHT = 50
#: How long a vote waits for its acknowledgement before it is sent again (live.js's timeout).
ACK_WAIT_S = 10.0
#: Ideas one theme_create may carry (the server refuses longer lists of ids).
THEME_IDEAS_MAX = 500
#: Refusals that mean "not written, try again" (the server could not reach its database):
#: live.js's RETRY_CODES, retried as often (MAX_REFUSALS) with the same backoff.
RETRYABLE_REFUSALS = frozenset({"database_unavailable", "not_recorded", "timeout"})
MAX_REFUSALS = 8
Say = Callable[[str], None]
#: Whatever the server does, a rehearsal ends within this many of its `--timeout`: each of
#: its steps waits at most about one (connecting everyone, seating, each phase, the poll).
WHOLE_RUN_TIMEOUTS = 10


def run_within(make: Callable[[], Coroutine[Any, Any, Any]], seconds: float) -> Any:
    """Run the coroutine `make()` to its end or for `seconds` at most (TimeoutError), on a
    loop and in a thread of its own: a caller (pytest with Playwright) may have a loop
    running here. uvloop: the one process that plays thousands of phones takes in a broadcast
    at about 30 µs a message instead of 50 (asyncio's loop), so it sets the pace less."""

    async def bounded() -> Any:
        return await asyncio.wait_for(make(), seconds)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: uvloop.run(bounded())).result()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)


class LoopLag:
    """How late the load process's own event loop runs a 10 ms timer during the poll.

    The rehearsal plays every phone in one process: while it takes in a broadcast to
    thousands of sockets, it neither sends the votes that fall due nor reads what arrived, and
    those delays land in the figures. A large lag says the load process, not the server, set
    the pace (at 5,000 people a tally to everyone mid-poll held it for up to 0.5 s)."""

    TICK_S = 0.01

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK_S)
            self.lags.append(max(0.0, time.perf_counter() - before - self.TICK_S) * 1000)

    def stop(self) -> dict[str, float | None]:
        if self.task is not None:
            self.task.cancel()
        return {
            "p99": percentile(self.lags, 0.99),
            "max": round(max(self.lags), 1) if self.lags else None,
        }


# --- the server under test ---------------------------------------------------------------


def peak_rss_mb(pid: int | None) -> float | None:
    """The server's peak resident memory (VmHWM), in MB."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def pid_listening_on(port: int) -> int | None:
    """The process listening on a loopback port (for --url), when this user may see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                return conn.pid
    except (psutil.AccessDenied, PermissionError):
        return None
    return None


# --- the synthetic session ---------------------------------------------------------------


@dataclass
class Person:
    client: LightClient
    votes: bool
    table_id: int | None = None
    table_number: int | None = None
    phase_at: dict[str, float] = field(default_factory=dict)
    chat_seen: list[tuple[str, int, float]] = field(default_factory=list)
    converged_at: float | None = None
    #: Live tallies received (what a phone has to handle during a poll).
    tallies_received: int = 0
    seating_seen: asyncio.Event = field(default_factory=asyncio.Event)
    #: The server pushed this person's seat after the room was seated.
    seat_pushed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set while the person is connected and joined; cleared while reconnecting.
    rejoined: asyncio.Event = field(default_factory=asyncio.Event)
    #: (lost at, back in the same seat with a fresh snapshot at) per reconnection.
    reconnections: list[tuple[float, float]] = field(default_factory=list)
    #: The room poll reached this person (`poll_opened`, or a snapshot holding it open): a
    #: browser can vote only once it shows the poll's options.
    poll_shown: asyncio.Event = field(default_factory=asyncio.Event)
    poll_shown_at: float | None = None

    def show_poll(self, now: float) -> None:
        """The poll reached the person's page: from now on they may vote."""
        if self.poll_shown_at is None:
            self.poll_shown_at = now
        self.poll_shown.set()


class Rehearsal:
    def __init__(
        self,
        url: str,
        cast: Cast,
        window: float,
        timeout: float,
        say: Say,
        server_pid: int | None = None,
        fault_command: str | None = None,
        console: bool = False,
        watched: dict[str, int] | None = None,
    ) -> None:
        self.url, self.cast, self.window, self.timeout, self.say = url, cast, window, timeout, say
        self.fault_command = fault_command
        self.fault_at: float | None = None
        self.poll_id: int | None = None
        self.acked_client_ids: set[str] = set()
        self.retries: dict[str, int] = {}
        self.last_tally_total: int | None = None
        self.stopping = False
        self.supervisors: list[asyncio.Task] = []
        #: The lead's console in Chromium (`--console`): opened in `run`.
        self.console = ConsoleWatch(url, cast.session_id, cast.lead_cookie) if console else None
        #: Table number → when (wall clock) its first chat message was sent.
        self.chat_sent_wall: dict[int, float] = {}
        self.server = psutil.Process(server_pid) if server_pid else None
        self.watched = {name: psutil.Process(pid) for name, pid in (watched or {}).items()}
        self.sid = cast.session_id
        self.errors: dict[str, int] = {}
        self.figures: dict[str, Any] = {}
        self.people: list[Person] = []
        self.expected_total = 0
        #: Voters who do not hold the complete tally yet (a count: rescanning 5,000 people
        #: at each arrival cost the load process about half a second at the final tally).
        self.not_converged = 0
        #: Votes sent before the poll reached the voter (a browser cannot: it must be 0).
        self.votes_before_poll_shown = 0
        self.all_converged = asyncio.Event()

    def error(self, kind: str, count: int = 1) -> None:
        if count:
            self.errors[kind] = self.errors.get(kind, 0) + count

    def retried(self, kind: str) -> None:
        """Something a fault caused that the clients recovered from by themselves."""
        self.retries[kind] = self.retries.get(kind, 0) + 1

    def saw_total(self, person: Person, total: int, now: float) -> None:
        """A tally (broadcast or snapshot) reached the person: converged once it is complete."""
        if person.converged_at is None and total >= self.expected_total > 0:
            person.converged_at = now
            if person.votes:
                self.not_converged -= 1
                if self.not_converged <= 0:
                    self.all_converged.set()

    def apply_snapshot(self, person: Person, snapshot: dict[str, Any], now: float) -> None:
        """What a page takes from a snapshot that this rehearsal measures: phase and tally."""
        phase = snapshot.get("phase") or snapshot.get("state")
        if phase:
            person.phase_at.setdefault(phase, now)
        poll = snapshot.get("poll")
        if poll and poll.get("state") == "open":
            person.show_poll(now)
        if poll and poll.get("id") == self.poll_id and poll.get("tally"):
            self.saw_total(person, poll["tally"]["total"], now)

    def resync(self, person: Person) -> None:
        """live.js on `resync` (the server's Redis was away): a snapshot within 2 s."""

        async def catch_up() -> None:
            await asyncio.sleep(random.uniform(0, 2.0))  # noqa: S311 - live.js's spread
            try:
                ack = await self.call(person.client, "snapshot", payloads.snapshot(self.sid))
            except Exception:  # noqa: BLE001 - a reconnect will bring a snapshot anyway
                return
            self.retried("resync_snapshot")
            self.apply_snapshot(person, ack.get("snapshot") or {}, time.perf_counter())

        self.supervisors.append(asyncio.create_task(catch_up()))

    async def keep_connected(self, person: Person) -> None:
        """live.js after a lost connection: reconnect with backoff and jitter, rejoin the seat
        (`join`, whose acknowledgement is a fresh snapshot), then let unacknowledged votes go."""
        client = person.client
        while not self.stopping:
            await client.lost.wait()
            if self.stopping or client.closing:
                return
            person.rejoined.clear()
            lost_at = time.perf_counter()
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    await client.reconnect(timeout=self.timeout, deadline=deadline)
                    try:
                        ack = await self.call(client, "join", payloads.join(self.sid))
                        break
                    except (websockets.ConnectionClosed, SocketIOError, TimeoutError):
                        continue  # lost again before the join was answered
            except Exception:  # noqa: BLE001 - counted; this person is gone
                self.error("not_reconnected")
                return
            now = time.perf_counter()
            table_id = (ack.get("seat") or {}).get("table_id")
            if person.table_id is not None and table_id != person.table_id:
                self.error("seat_changed")
            self.apply_snapshot(person, ack.get("snapshot") or {}, now)
            person.reconnections.append((lost_at, now))
            person.rejoined.set()

    async def call(self, client: LightClient, event: str, data: dict[str, Any]) -> dict:
        """Send one event with a payload built by `loadtest.payloads` (what the browser sends)."""
        if client is self.lead and self.lead.closed:
            client = await self._reconnect_lead()
        try:
            ack = await client.call(event, data, self.timeout)
        except (websockets.ConnectionClosed, SocketIOError):
            if client is not self.lead:
                raise
            # Closed while the call was on its way: reconnect and send it again (the lead's
            # events are safe to repeat), as the console page does after a reconnect.
            client = await self._reconnect_lead()
            ack = await client.call(event, data, self.timeout)
        if not ack or not ack.get("ok"):
            raise RuntimeError(f"{event} refused: {ack}")
        return ack

    async def _reconnect_lead(self) -> LightClient:
        """The lead's socket was dropped (e.g. a ping answered late while this one process
        was busy with thousands of others): reconnect and rejoin, as a browser would. After an
        injected fault that is recovery, as for everyone the fault cut off; otherwise an
        error."""
        if self.fault_at is None:
            self.error("lead_reconnected")
        else:
            self.retried("lead_reconnected")
        self.lead = LightClient(self.url, NAMESPACE, self.cast.lead_cookie)
        await self.lead.connect(timeout=self.timeout)
        await self.lead.call("join", payloads.join(self.sid), self.timeout)
        return self.lead

    def _watch(self, person: Person) -> None:
        def on_phase(data: Any, now: float) -> None:
            person.phase_at.setdefault(data.get("phase") or data.get("state"), now)

        def on_chat(data: Any, now: float) -> None:
            person.chat_seen.append((data["client_id"], data["table_id"], now))

        def on_tally(data: Any, now: float) -> None:
            person.tallies_received += 1
            self.saw_total(person, data["total"], now)

        person.client.on("phase", on_phase)
        person.client.on("poll_opened", lambda _data, now: person.show_poll(now))
        person.client.on("chat_message", on_chat)
        person.client.on("poll_tally", on_tally)
        person.client.on("resync", lambda _data, _now: self.resync(person))
        person.client.on("seating", lambda _data, _now: person.seating_seen.set())

        def on_seat(data: Any, _now: float) -> None:
            person.table_id = data["seat"]["table_id"]
            person.table_number = data["seat"].get("table_number")
            person.seat_pushed.set()

        person.client.on("seat", on_seat)

    async def connect_all(self) -> None:
        """Connect and join everyone, HANDSHAKES_IN_FLIGHT at a time, all within `timeout`.

        One deadline for the whole crowd, not a timeout per handshake: a server that stops
        answering (one worker at its `worker_connections`) held each group through the gate
        for the whole timeout, and 1,000 such handshakes (twenty groups) kept a rehearsal of
        `--timeout 180` going for 20 minutes, when it was stopped. Whoever is not connected by
        the deadline is counted (`connect`)."""
        gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        cookies = [(c, True) for c in self.cast.participant_cookies]
        cookies += [(c, False) for c in self.cast.facilitator_cookies]
        deadline = time.monotonic() + self.timeout

        async def one(cookie: str, votes: bool) -> None:
            person = Person(LightClient(self.url, NAMESPACE, cookie), votes)
            self._watch(person)
            try:
                async with gate:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("the rehearsal's time to connect is over")
                    await asyncio.wait_for(person.client.connect(timeout=left), left)
                await self.call(person.client, "join", payloads.join(self.sid))
                self.people.append(person)
                person.rejoined.set()
                self.supervisors.append(asyncio.create_task(self.keep_connected(person)))
            except Exception:  # noqa: BLE001 - counted; the run goes on
                self.error("connect")
                with contextlib.suppress(Exception):  # a half-open socket is not kept
                    await asyncio.wait_for(person.client.close(), 2)

        started = time.perf_counter()
        done = 0
        tasks = [asyncio.create_task(one(c, v)) for c, v in cookies]
        for finished in asyncio.as_completed(tasks):
            await finished
            done += 1
            if done % 500 == 0 or done == len(tasks):
                self.say(f"  connected and joined {done}/{len(tasks)}")
        self.figures["connect_s"] = round(time.perf_counter() - started, 2)
        # Thousands of clients' connection state lives to the end: without this, the load
        # process's collector rescans all of it, and a full pass paused every client for
        # about a second mid-poll (no reply read, no vote sent), which the figures charged
        # to the server.
        gc.collect()
        gc.freeze()

    async def seat(self) -> None:
        """The lead seats the room; each page waits for its pushed seat, as the room page
        does, and asks with a join only if none came (counted: the push should not fail)."""
        started = time.perf_counter()
        for person in self.people:
            person.seat_pushed.clear()
        await self.call(self.lead, "seat_room", payloads.console_action(self.sid))
        waits = [asyncio.wait_for(p.seating_seen.wait(), self.timeout) for p in self.people]
        results = await asyncio.gather(*waits, return_exceptions=True)
        self.error("seating_not_delivered", sum(isinstance(r, Exception) for r in results))

        async def seated(person: Person) -> None:
            wait = payloads.SEAT_PUSH_WAIT_S * (1 + random.random())  # noqa: S311 - the page's spread
            try:
                await asyncio.wait_for(person.seat_pushed.wait(), wait)
            except TimeoutError:
                self.error("seat_not_pushed")
                await rejoin(person)

        async def rejoin(person: Person) -> None:
            try:
                ack = await self.call(person.client, "join", payloads.join(self.sid))
                person.table_id = ack["seat"]["table_id"]
                person.table_number = ack["seat"].get("table_number")
            except Exception:  # noqa: BLE001
                self.error("rejoin")

        await asyncio.gather(*(seated(p) for p in self.people))
        self.figures["seat_s"] = round(time.perf_counter() - started, 2)
        self.error("unseated", sum(p.table_id is None for p in self.people))

    async def phase(self, name: str, duration_s: int | None = None) -> float | None:
        """Change phase; return the p99 time for it to reach every connected client."""
        sent = time.perf_counter()
        await self.call(self.lead, "phase_set", payloads.phase_set(self.sid, name, duration_s))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if all(name in p.phase_at for p in self.people):
                break
            await asyncio.sleep(0.02)
        missing = sum(name not in p.phase_at for p in self.people)
        self.error(f"phase_{name}_not_delivered", missing)
        return percentile([(p.phase_at[name] - sent) * 1000 for p in self.people
                           if name in p.phase_at], 0.99)  # fmt: skip

    async def chat(self) -> None:
        tables: dict[int, list[Person]] = {}
        for person in self.people:
            if person.table_id is not None:
                tables.setdefault(person.table_id, []).append(person)
        sent_at: dict[str, tuple[int, float]] = {}

        async def speak(table_id: int, speaker: Person) -> None:
            await asyncio.sleep(random.uniform(0, self.window))  # noqa: S311 - load timing
            client_id = uuid.uuid4().hex
            sent_at[client_id] = (table_id, time.perf_counter())
            if speaker.table_number is not None:
                self.chat_sent_wall[speaker.table_number] = time.time()
            try:
                await self.call(
                    speaker.client,
                    "chat_send",
                    payloads.chat_send(self.sid, "Hello table", client_id),
                )
            except Exception:  # noqa: BLE001
                self.error("chat_refused")

        await asyncio.gather(*(speak(t, members[0]) for t, members in tables.items()))
        expected = sum(len(m) for m in tables.values())
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if sum(len(p.chat_seen) for p in self.people) >= expected:
                break
            await asyncio.sleep(0.02)
        latencies = []
        for person in self.people:
            seen = {cid for cid, *_ in person.chat_seen}
            for client_id, table_id, arrived in person.chat_seen:
                origin, sent = sent_at.get(client_id, (None, 0.0))
                if origin != person.table_id or table_id != person.table_id:
                    self.error("chat_leaked_to_another_table")
                else:
                    latencies.append((arrived - sent) * 1000)
            own = [cid for cid, (t, _s) in sent_at.items() if t == person.table_id]
            self.error("chat_not_delivered", sum(cid not in seen for cid in own))
        self.figures["chat_p99_ms"] = percentile(latencies, 0.99)
        self.figures["chat_messages"] = len(sent_at)

    async def ideas_and_themes(self) -> None:
        facilitators = [p for p in self.people if not p.votes and p.table_id is not None]
        idea_ids: list[int] = []

        async def record(person: Person) -> None:
            for text in ("More benches in the park", "Longer library hours"):
                try:
                    ack = await self.call(person.client, "idea_add", payloads.idea_add(
                        self.sid, person.table_id, text, uuid.uuid4().hex))  # fmt: skip
                    idea_ids.append(ack["idea"]["id"])
                except Exception:  # noqa: BLE001
                    self.error("idea_refused")

        await asyncio.gather(*(record(p) for p in facilitators))
        await self.phase("submissions")

        async def submit(person: Person) -> None:
            try:
                await self.call(
                    person.client, "ideas_submit", payloads.ideas_submit(self.sid, person.table_id)
                )
            except Exception:  # noqa: BLE001
                self.error("submit_refused")

        await asyncio.gather(*(submit(p) for p in facilitators))
        await self.phase("synthesis")
        # Three themes, or more (numbered) where one request would carry over the server's
        # 500 ideas: 1,000 tables write 2,000.
        topics = ("Green public space", "Opening hours", "Everything else")
        count = max(len(topics), -(-len(idea_ids) // THEME_IDEAS_MAX))
        names = [
            topics[i % len(topics)] + (f" {i // len(topics) + 1}" if count > len(topics) else "")
            for i in range(count)
        ]
        groups = [idea_ids[i::count] for i in range(count)]
        for name, ids in zip(names, groups, strict=True):
            await self.call(self.lead, "theme_create", payloads.theme_create(self.sid, name, ids))
        await self.call(self.lead, "themes_publish", payloads.themes_publish(self.sid))
        self.figures["ideas"] = len(idea_ids)

    async def poll(self) -> None:
        await self.phase("poll")
        opening = time.perf_counter()
        ack = await self.call(
            self.lead, "poll_open", payloads.poll_open(self.sid, "choose_one", "Which first?")
        )
        poll = ack["poll"]
        self.poll_id = poll["id"]
        options = [o["id"] for o in poll["options"]]
        voters = [p for p in self.people if p.votes]
        self.expected_total = len(voters)
        self.not_converged = sum(p.converged_at is None for p in voters)
        sent: dict[str, float] = {}
        acked: dict[str, float] = {}
        unacked_then_settled = 0

        async def vote(person: Person) -> None:
            nonlocal unacked_then_settled
            # Each person votes within the window from when their page shows the poll, as a
            # browser must (it needs the options): not before the poll reached them.
            try:
                await asyncio.wait_for(person.poll_shown.wait(), self.timeout)
            except TimeoutError:
                self.error("poll_not_shown")
                return
            await asyncio.sleep(random.uniform(0, self.window))  # noqa: S311 - load timing
            client_id = uuid.uuid4().hex
            sent[client_id] = time.perf_counter()
            if person.poll_shown_at is None or sent[client_id] < person.poll_shown_at:
                self.votes_before_poll_shown += 1
            choice = random.choice(options)  # noqa: S311 - load timing
            data = payloads.poll_vote(self.sid, poll["id"], choice, client_id)
            deadline = time.monotonic() + 2 * self.timeout
            went_unacked, refusals = False, 0
            while time.monotonic() < deadline:
                if person.client.closed or not person.rejoined.is_set():
                    try:  # live.js keeps the vote and sends it after the rejoin
                        await asyncio.wait_for(
                            person.rejoined.wait(), max(0.1, deadline - time.monotonic())
                        )
                    except TimeoutError:
                        break
                    if person.client.closed:
                        await asyncio.sleep(0.05)  # lost, and keep_connected not woken yet
                        continue
                try:
                    future = await person.client.emit("poll_vote", data)
                    answer, arrived = await asyncio.wait_for(future, ACK_WAIT_S)
                except (websockets.ConnectionClosed, SocketIOError, TimeoutError):
                    went_unacked = True  # sent (maybe written), never answered: send again
                    self.retried("vote_unacknowledged_resent")
                    # The reader may not have seen the close yet: give it a moment, no spin.
                    await asyncio.sleep(random.uniform(0.05, 0.5))  # noqa: S311
                    continue
                if answer and answer.get("ok"):
                    acked[client_id] = arrived
                    self.acked_client_ids.add(client_id)
                    unacked_then_settled += went_unacked
                    return
                code = (answer or {}).get("error")
                if code in RETRYABLE_REFUSALS and refusals < MAX_REFUSALS:
                    refusals += 1  # not written: live.js sends it again after a backoff
                    self.retried(f"vote_refused_{code}_resent")
                    backoff = min(RECONNECT_CAP_S, RECONNECT_BASE_S * 2**refusals)
                    await asyncio.sleep(random.uniform(0, backoff))  # noqa: S311
                    continue
                self.error(f"vote_refused_{code}")
                return
            self.error("vote_not_acknowledged")

        async def inject_fault() -> None:
            await asyncio.sleep(self.window / 2)
            self.fault_at = time.perf_counter()
            self.say(f"  fault: {self.fault_command}")
            process = await asyncio.create_subprocess_shell(self.fault_command)  # noqa: S604
            if await process.wait() != 0:
                self.error("fault_command_failed")

        async def report() -> None:
            while True:
                await asyncio.sleep(5)
                away = sum(p.client.closed for p in self.people)
                waiting = sum(not p.rejoined.is_set() for p in self.people)
                self.say(f"  {len(acked)}/{len(voters)} votes acknowledged, {away} sockets "
                         f"closed, {waiting} people not back in their seat")  # fmt: skip

        self.say(f"  {len(voters)} participants vote within {self.window} s ...")
        cpu_before = self._cpu()
        voting = [vote(p) for p in voters]
        if self.fault_command:
            voting.append(inject_fault())
        reporter = asyncio.create_task(report())
        lag = LoopLag()
        lag.start()
        await asyncio.gather(*voting)
        reporter.cancel()
        last_sent = max(sent.values(), default=time.perf_counter())
        if self.fault_command:  # converged after recovery: from the last vote settled
            last_sent = max([last_sent, *acked.values()])
        try:
            await asyncio.wait_for(self.all_converged.wait(), self.timeout)
        except TimeoutError:
            pass
        cpu_after = self._cpu()
        self.figures["poll_client_lag_ms"] = lag.stop()
        self.figures["poll_cpu_s"] = {
            who: round(cpu_after[who] - cpu_before[who], 2) for who in cpu_before
        }
        latencies = [(acked[k] - sent[k]) * 1000 for k in acked]
        shown = [(p.poll_shown_at - opening) * 1000 for p in voters if p.poll_shown_at]
        self.figures["poll_shown_p99_ms"] = percentile(shown, 0.99)
        self.figures["votes_before_poll_shown"] = self.votes_before_poll_shown
        tallies = [p.tallies_received for p in voters]
        if tallies:  # per voter, from the poll's opening until everyone converged
            self.figures["poll_tallies_per_person"] = {
                "median": percentile(tallies, 0.50),
                "max": max(tallies),
            }
        self.figures["votes"] = len(acked)
        self.figures["votes_unacked_then_settled"] = unacked_then_settled
        self.figures["ack_p50_ms"] = percentile(latencies, 0.50)
        self.figures["ack_p99_ms"] = percentile(latencies, 0.99)
        converged = [p.converged_at for p in voters if p.converged_at]
        self.error("tally_not_converged", len(voters) - len(converged))
        self.figures["converge_ms"] = (
            round((max(converged) - last_sent) * 1000, 1)
            if converged and len(converged) == len(voters)
            else None
        )
        closed = await self.call(self.lead, "poll_close", payloads.poll_close(self.sid, poll["id"]))
        self.last_tally_total = (closed.get("tally") or {}).get("total")
        self.figures.update(self.reconnect_figures())

    def reconnect_figures(self) -> dict[str, Any]:
        """From the fault until each affected participant was back in the same seat with a
        fresh snapshot (affected: lost their connection after the fault)."""
        if self.fault_at is None:
            return {}
        back = [
            max(at for lost, at in p.reconnections if lost >= self.fault_at) - self.fault_at
            for p in self.people
            if any(lost >= self.fault_at for lost, _at in p.reconnections)
        ]
        return {
            "affected": len(back),
            "reconnect_p50_s": percentile(back, 0.50),
            "reconnect_p99_s": percentile(back, 0.99),
            "reconnect_max_s": round(max(back), 2) if back else None,
        }

    def _cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the server (when known) and by these clients."""
        times = os.times()
        used = {"clients": times.user + times.system}
        if self.server is not None:
            try:
                server = self.server.cpu_times()
                used["server"] = server.user + server.system
            except psutil.Error:
                pass
        for name, process in self.watched.items():
            used[name] = 0.0
            try:
                for each in [process, *process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a child may just have ended
                        times = each.cpu_times()
                        used[name] += times.user + times.system
            except psutil.Error:
                pass
        return used

    async def run(self) -> dict[str, Any]:
        self.lead = LightClient(self.url, NAMESPACE, self.cast.lead_cookie)
        await self.lead.connect(timeout=self.timeout)
        await self.call(self.lead, "join", payloads.join(self.sid))
        if self.console is not None:
            self.say("opening the lead's console in Chromium ...")
            await self.console.open()
        self.say(f"connecting {len(self.cast.participant_cookies)} participants and "
                 f"{len(self.cast.facilitator_cookies)} table facilitators ...")  # fmt: skip
        await self.connect_all()
        self.say("seating the room ...")
        await self.seat()
        await self.call(self.lead, "session_start", payloads.console_action(self.sid))
        self.say("phase change: table discussion ...")
        self.figures["phase_p99_ms"] = await self.phase("discussion", duration_s=1800)
        self.say("table chat ...")
        if self.console is not None:
            await self.console.watch_tables()
        await self.chat()
        if self.console is not None:
            await self.console_updates(self.console)
        self.say("ideas, submissions and themes ...")
        await self.ideas_and_themes()
        self.say("room poll ...")
        if self.console is not None:
            busy_before, started = await self.console.busy_seconds(), time.perf_counter()
        await self.poll()
        if self.console is not None:
            busy = await self.console.busy_seconds() - busy_before
            self.figures["console_main_thread_ms_per_s"] = round(
                busy * 1000 / (time.perf_counter() - started), 1
            )
        await self.phase("results")
        await self.call(self.lead, "session_close", payloads.console_action(self.sid))
        self.stopping = True
        for task in self.supervisors:
            task.cancel()
        await asyncio.gather(
            *(p.client.close() for p in self.people), self.lead.close(), return_exceptions=True
        )
        if self.console is not None:
            self.error("console_script_error", len(self.console.script_errors))
            await self.console.close()
        return self.figures

    async def console_updates(self, console: ConsoleWatch) -> None:
        """How long after each table's first chat the lead's console showed it (p99)."""
        await console.wait_for_rows_with_chat(len(self.chat_sent_wall), self.timeout)
        shown = await console.first_chat_shown()
        delays = [
            (shown[number] - sent) * 1000
            for number, sent in self.chat_sent_wall.items()
            if number in shown
        ]
        self.error("console_missed_table", len(self.chat_sent_wall) - len(delays))
        self.figures["console_update_p99_ms"] = percentile(delays, 0.99)


def fault_figures(
    app: Flask, rehearsal: Rehearsal, fault: str | None, figures: dict[str, Any]
) -> dict[str, Any]:
    """What a fault cost: acknowledged votes missing from the database (lost), votes counted
    more than once (doubled), reconnection times, and the final tally against the rows."""
    with app.app_context():
        rows = db.session.execute(
            select(PollVote.client_id, PollVote.participant_id).where(
                PollVote.poll_id == rehearsal.poll_id
            )
        ).all()
        db.session.remove()
    stored = {client_id for client_id, _pid in rows}
    voters = {pid for _cid, pid in rows}
    tally = rehearsal.last_tally_total
    return {
        "fault": fault,
        "votes_acked": len(rehearsal.acked_client_ids),
        "votes_in_database": len(rows),
        "votes_lost": len(rehearsal.acked_client_ids - stored),
        # UNIQUE(poll, participant) makes a second row impossible; a tally that counts more
        # than the rows would be the other way to count someone twice.
        "votes_doubled": (len(rows) - len(voters)) + max(0, (tally or 0) - len(rows)),
        "votes_unacked_then_settled": figures.get("votes_unacked_then_settled"),
        "final_tally": tally,
        "tally_equals_database": tally == len(rows),
        "affected": figures.get("affected"),
        "reconnect_p50_s": figures.get("reconnect_p50_s"),
        "reconnect_p99_s": figures.get("reconnect_p99_s"),
        "reconnect_max_s": figures.get("reconnect_max_s"),
        "not_back_in_seat": rehearsal.errors.get("not_reconnected", 0)
        + rehearsal.errors.get("seat_changed", 0),
        "recovered": rehearsal.retries,
    }


def run_reference(path: str, clients: int, window: float) -> dict[str, Any]:
    """Run the bare-websocket reference with the same load; its last line is JSON."""
    output = subprocess.run(  # noqa: S603 - a script the operator names
        [sys.executable, path, "--clients", str(clients), "--window", str(window), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in output.stdout.strip().splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"the reference printed nothing: {output.stderr[-500:]}")
    return json.loads(lines[-1])


def reference_median(path: str, clients: int, window: float, runs: int = 3) -> dict[str, Any]:
    """The reference run `runs` times: the run with the median convergence, and every run's
    convergence (a single run swings with the next 100 ms tick and the machine's load)."""
    results = [run_reference(path, clients, window) for _ in range(runs)]
    ranked = sorted(results, key=lambda r: (r.get("converge_ms") is None, r.get("converge_ms")))
    median = dict(ranked[len(ranked) // 2])
    median["converge_ms_runs"] = [r.get("converge_ms") for r in results]
    return median


def rehearse(
    app: Flask,
    participants: int,
    url: str | None,
    window: float,
    reference: str | None,
    timeout: float,
    say: Say,
    server_mode: str = "gevent",
    fault: str | None = None,
    fault_command: str | None = None,
    console: bool = False,
    watched: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run the whole rehearsal and return its figures (the command prints them).

    With `fault_command`, it runs at mid-poll; `fault` names it in the figures."""
    limit = raise_fd_limit()
    # `kill -USR2 <pid>` prints every thread's stack: what a stuck rehearsal is waiting for.
    # To the process's own stderr: under click's CliRunner (the tests) sys.stderr has no fileno.
    faulthandler.register(signal.SIGUSR2, file=sys.__stderr__, all_threads=True)
    run = secrets.token_hex(3)
    server: LiveServer | None = None
    directory: Path | None = None
    try:
        if url is None:
            directory = Path(tempfile.mkdtemp(prefix="madang-rehearsal-"))
            server = LiveServer(
                f"sqlite:///{directory / 'rehearsal.sqlite3'}",
                directory / "server.log",
                mode=server_mode,
            )
            target_app = create_app(
                Config,
                {"SQLALCHEMY_DATABASE_URI": server.database_url, "SECRET_KEY": server.secret_key},
            )
            with target_app.app_context():
                db.create_all()
            say(f"creating {participants} participants in a temporary database ...")
            cast = create_cast(target_app, participants, run)
            with target_app.app_context():
                db.engine.dispose()
            say(
                f"starting the {server_mode} server on {server.url} (file descriptors: {limit}) ..."
            )
            server.start()
            target_url = server.url
            server_pid = server.pid
        else:
            loopback_only(url)
            say(f"creating {participants} participants in the configured database ...")
            cast = create_cast(app, participants, run)
            target_url = url.rstrip("/")
            server_pid = pid_listening_on(int(url.rsplit(":", 1)[-1].split("/")[0]))
        rehearsal = Rehearsal(
            target_url, cast, window, timeout, say, server_pid, fault_command, console, watched
        )
        bound = WHOLE_RUN_TIMEOUTS * timeout
        try:
            figures = run_within(rehearsal.run, bound)
        except TimeoutError:
            raise RuntimeError(
                f"the rehearsal did not end within {bound:.0f} s ({WHOLE_RUN_TIMEOUTS} times "
                "--timeout) and was stopped"
            ) from None
        result: dict[str, Any] = {
            "participants": participants,
            "server_mode": server_mode if url is None else "external",
            "connected": sum(p.votes for p in rehearsal.people),
            "window_s": window,
            "connect_s": figures.get("connect_s"),
            "seat_s": figures.get("seat_s"),
            "phase_p99_ms": figures.get("phase_p99_ms"),
            "chat_p99_ms": figures.get("chat_p99_ms"),
            "ack_p50_ms": figures.get("ack_p50_ms"),
            "ack_p99_ms": figures.get("ack_p99_ms"),
            "converge_ms": figures.get("converge_ms"),
            "votes": figures.get("votes"),
            "errors": sum(rehearsal.errors.values()),
            "error_kinds": rehearsal.errors,
            "server_rss_mb": peak_rss_mb(server_pid),
            "poll_cpu_s": figures.get("poll_cpu_s"),
            "poll_client_lag_ms": figures.get("poll_client_lag_ms"),
            "poll_tallies_per_person": figures.get("poll_tallies_per_person"),
            "poll_shown_p99_ms": figures.get("poll_shown_p99_ms"),
            "votes_before_poll_shown": figures.get("votes_before_poll_shown"),
        }
        if fault_command:
            result.update(fault_figures(app if url else target_app, rehearsal, fault, figures))
        if console:
            result["console_update_p99_ms"] = figures.get("console_update_p99_ms")
            result["console_main_thread_ms_per_s"] = figures.get("console_main_thread_ms_per_s")
    finally:
        if server is not None:
            server.stop()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
    if reference:
        say(f"running the reference {reference} three times with {participants} clients ...")
        ref = reference_median(reference, participants, window)
        result["reference_converge_ms"] = ref.get("converge_ms")
        result["reference_converge_ms_runs"] = ref.get("converge_ms_runs")
        result["reference_ack_p99_ms"] = ref.get("ack_p99_ms")
        result["reference_errors"] = ref.get("errors")
        if ref.get("converge_ms") and result["converge_ms"] is not None:
            result["ratio"] = round(result["converge_ms"] / ref["converge_ms"], 2)
        else:
            result["ratio"] = None
    return result
