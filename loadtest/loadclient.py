"""A light Socket.IO client (Engine.IO v4 / Socket.IO v5 spoken directly over `websockets`).

The python-socketio client is too heavy for thousands of connections in one process; the
rehearsal needs only: connect to one namespace with a cookie, emit with an acknowledgement,
receive events, answer pings. Text packets only (no binary attachments).

Reconnecting is the browser's (static/js/live.js): `reconnect()` waits a random time between 0
and min(10 s, 0.5 s * 2^attempt) before each attempt (exponential backoff with full jitter) and
keeps nginx's `madang_route` cookie, as a browser keeps it, so a client comes back to its
worker once that worker is back. The caller rejoins and resends what was never acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

EventHandler = Callable[[Any, float], None]
#: Backoff of `reconnect`: the first wait is at most BASE, doubling up to CAP (live.js's).
RECONNECT_BASE_S = 0.5
RECONNECT_CAP_S = 10.0


class SocketIOError(RuntimeError):
    """The server refused the namespace connection or closed the socket."""


def websocket_url(base_url: str) -> str:
    parsed = urlparse(base_url)
    return f"ws://{parsed.hostname}:{parsed.port or 80}/socket.io/?EIO=4&transport=websocket"


def browser_extensions() -> list[ClientPerMessageDeflateFactory]:
    """The extension offer of a browser's handshake, `payloads.WEBSOCKET_EXTENSIONS`
    (tests/core/test_websocket_compression.py checks the header this sends)."""
    return [ClientPerMessageDeflateFactory(client_max_window_bits=True)]


def raise_fd_limit() -> int:
    """Lift this process's open-file limit to its hard limit (its children inherit it):
    thousands of sockets need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def loopback_only(base_url: str) -> None:
    """Load goes to this machine only."""
    if urlparse(base_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("only loopback targets (127.0.0.1) are allowed")


class LightClient:
    """One connection to one namespace; `emit` returns a future resolved with the ack."""

    def __init__(self, base_url: str, namespace: str, cookie: str | None = None) -> None:
        self.url = websocket_url(base_url)
        self.namespace = namespace
        self.prefix_event = f"42{namespace},"
        self.prefix_ack = f"43{namespace},"
        self.cookie = cookie
        self.ws: Any = None
        self.handlers: dict[str, EventHandler] = {}
        self.pending: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.reader: asyncio.Task | None = None
        self.closed = False
        #: nginx's sticky-routing cookie from the first handshake, sent on every reconnect.
        self.route_cookie: str | None = None
        #: Set when the connection is lost (not when `close()` closes it).
        self.lost = asyncio.Event()
        self.closing = False

    def on(self, event: str, handler: EventHandler) -> None:
        self.handlers[event] = handler

    async def connect(self, auth: dict | None = None, timeout: float = 30.0) -> None:
        cookies = [c for c in (self.cookie, self.route_cookie) if c]
        headers = {"Cookie": "; ".join(cookies)} if cookies else None
        self.closed = False
        self.lost.clear()
        self.ws = await websockets.connect(
            self.url,
            additional_headers=headers,
            max_size=2**22,
            open_timeout=timeout,
            compression=None,
            extensions=browser_extensions(),
            proxy=None,
            ping_interval=None,
        )
        self._keep_route_cookie()
        opened = await asyncio.wait_for(self.ws.recv(), timeout)
        if not opened.startswith("0"):
            raise SocketIOError(f"unexpected open packet {opened[:80]!r}")
        await self.ws.send(f"40{self.namespace}," + (json.dumps(auth) if auth else ""))
        while True:
            reply = await asyncio.wait_for(self.ws.recv(), timeout)
            if reply == "2":
                await self.ws.send("3")
            elif reply.startswith(f"40{self.namespace},"):
                break
            elif reply.startswith(f"44{self.namespace},"):
                raise SocketIOError(f"namespace refused: {reply[:160]}")
        self.reader = asyncio.create_task(self._read())

    def _keep_route_cookie(self) -> None:
        response = getattr(self.ws, "response", None)
        if self.route_cookie or response is None:
            return
        for header in response.headers.get_all("Set-Cookie"):
            if header.startswith("madang_route="):
                self.route_cookie = header.split(";", 1)[0]

    async def reconnect(
        self, auth: dict | None = None, timeout: float = 30.0, deadline: float | None = None
    ) -> int:
        """Connect again after a lost connection, with backoff and full jitter; return the
        number of attempts. Raises SocketIOError when `deadline` (monotonic) passes first."""
        attempt = 0
        while True:
            wait = random.uniform(0, min(RECONNECT_CAP_S, RECONNECT_BASE_S * 2**attempt))  # noqa: S311
            attempt += 1
            if deadline is not None and time.monotonic() + wait > deadline:
                raise SocketIOError(f"not reconnected after {attempt - 1} attempts")
            await asyncio.sleep(wait)
            try:
                await self.connect(auth, timeout)
                return attempt
            except (OSError, TimeoutError, SocketIOError, websockets.WebSocketException):
                if self.ws is not None:
                    await self.ws.close()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                if raw == "2":
                    await self.ws.send("3")
                elif raw.startswith(self.prefix_ack):
                    body = raw[len(self.prefix_ack) :]
                    digits = len(body) - len(body.lstrip("0123456789"))
                    future = self.pending.pop(int(body[:digits]), None)
                    if future is not None and not future.done():
                        data = json.loads(body[digits:])
                        future.set_result((data[0] if data else None, now))
                elif raw.startswith(self.prefix_event):
                    body = raw[len(self.prefix_event) :]
                    digits = len(body) - len(body.lstrip("0123456789"))
                    data = json.loads(body[digits:])
                    handler = self.handlers.get(data[0])
                    if handler is not None:
                        handler(data[1] if len(data) > 1 else None, now)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            if not self.closing:
                self.lost.set()
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(SocketIOError("connection closed"))
            self.pending.clear()

    async def emit(self, event: str, data: Any = None) -> asyncio.Future:
        """Send an event asking for an acknowledgement; await the future for (ack, time)."""
        self.next_ack += 1
        ack_id = self.next_ack
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        # A caller that stopped waiting (timeout) must not leave "exception never retrieved".
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.pending[ack_id] = future
        try:
            await self.ws.send(f"{self.prefix_event}{ack_id}{json.dumps([event, data])}")
        except websockets.ConnectionClosed as closed:
            self.pending.pop(ack_id, None)
            future.cancel()
            raise SocketIOError("connection closed") from closed
        return future

    async def call(self, event: str, data: Any = None, timeout: float = 30.0) -> Any:
        """Emit and wait for the acknowledgement's payload."""
        future = await self.emit(event, data)
        ack, _ = await asyncio.wait_for(future, timeout)
        return ack

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
