"""A light Socket.IO client (Engine.IO 4 / Socket.IO 5 over a WebSocket) for many connections.

python-socketio's client runs several threads per connection; a thousand voters in one test
process need something lighter. This speaks the same protocol the browsers do, minus the
long-polling warm-up: open the WebSocket, connect one namespace with the session cookie, emit
with acknowledgements, receive events, answer pings. When the connection drops, every
pending acknowledgement fails with `Disconnected`; the caller reconnects and retries.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import websockets


class Disconnected(ConnectionError):
    """The connection closed before the acknowledgement arrived."""


class Refused(ConnectionError):
    """The server refused the namespace (e.g. not logged in)."""


def websocket_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("load goes to this machine only")
    return f"ws://{parts.hostname}:{parts.port or 80}/socket.io/?EIO=4&transport=websocket"


class SioClient:
    """One WebSocket connection to one namespace."""

    def __init__(self, base_url: str, namespace: str, cookie: str) -> None:
        self.url = websocket_url(base_url)
        self.namespace = namespace
        self.cookie = cookie
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        #: Response headers of the last handshake (nginx's X-Madang-Upstream says who served it).
        self.upstream: str | None = None
        self.connects = 0

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event] = handler

    @property
    def connected(self) -> bool:
        return self.reader is not None and not self.reader.done()

    async def connect(self, timeout: float = 20.0) -> None:
        self.ws = await websockets.connect(
            self.url,
            additional_headers={"Cookie": self.cookie},
            open_timeout=timeout,
            ping_interval=None,
            compression=None,
            proxy=None,
            max_size=2**22,
        )
        try:
            response = self.ws.response
            self.upstream = response.headers.get("X-Madang-Upstream") if response else None
            opened = await asyncio.wait_for(self.ws.recv(), timeout)
            if not opened.startswith("0"):
                raise Refused(f"unexpected Engine.IO open packet {opened[:80]!r}")
            await self.ws.send(f"40{self.namespace},")
            while True:
                packet = await asyncio.wait_for(self.ws.recv(), timeout)
                if packet == "2":
                    await self.ws.send("3")
                elif packet.startswith(f"40{self.namespace},"):
                    break
                elif packet.startswith(f"44{self.namespace},"):
                    raise Refused(packet[:200])
        except BaseException:
            await self.ws.close()
            raise
        self.connects += 1
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        prefix_event = f"42{self.namespace},"
        prefix_ack = f"43{self.namespace},"
        try:
            async for packet in self.ws:
                if packet == "2":
                    await self.ws.send("3")
                elif packet.startswith(prefix_ack):
                    body = packet[len(prefix_ack) :]
                    digits = len(body) - len(body.lstrip("0123456789"))
                    future = self.pending.pop(int(body[:digits]), None)
                    if future is not None and not future.done():
                        args = json.loads(body[digits:])
                        future.set_result(args[0] if args else None)
                elif packet.startswith(prefix_event):
                    body = packet[len(prefix_event) :]
                    digits = len(body) - len(body.lstrip("0123456789"))
                    args = json.loads(body[digits:])
                    handler = self.handlers.get(args[0])
                    if handler is not None:
                        handler(args[1] if len(args) > 1 else None)
                elif packet.startswith(f"41{self.namespace}"):
                    break  # the server disconnected this namespace
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(Disconnected("connection closed before the ack"))
            self.pending.clear()

    async def call(self, event: str, data: Any = None, timeout: float = 30.0) -> Any:
        """Emit and wait for the acknowledgement; `Disconnected` if the connection drops."""
        if not self.connected:
            raise Disconnected("not connected")
        self.next_id += 1
        ack_id = self.next_id
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending[ack_id] = future
        try:
            await self.ws.send(f"42{self.namespace},{ack_id}{json.dumps([event, data])}")
        except websockets.ConnectionClosed as error:
            self.pending.pop(ack_id, None)
            raise Disconnected(str(error)) from error
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(ack_id, None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


async def connect_with_retries(client: SioClient, deadline: float) -> None:
    """Reconnect until `deadline` (time.monotonic()), backing off like socket.io-client does."""
    delay = 0.2
    while True:
        try:
            await client.connect()
            return
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            if time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
