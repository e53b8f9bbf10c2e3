"""Engine.IO sockets that write a packet at once when nothing waits before it (gevent).

engine.io hands every packet to a writer greenlet per socket through a queue: each
acknowledgement and each copy of a broadcast costs a queue put, a wake-up of that greenlet
(with a timeout object) and a drain of the queue that ends in an exception, and the packet
then waits behind every greenlet ready to run. At 5,000 people on two workers that hop was
10-15 % of a worker during the poll, and the longest stage of a vote's acknowledgement
(docs/realtime.md, "Direct writes"). Here a socket whose WebSocket is idle (nothing queued,
nothing being written) frames the packet and writes it at once, without ever waiting; anything
else takes engine.io's queue as before. So packets keep their order, and a slow phone never
holds up whoever is sending (a broadcast goes on to the next socket):

- what the kernel does not take at once (a phone's full buffer) is queued, ahead of anything
  later, and the writer greenlet finishes it;
- the writer's writes are whole (`sendall`): simple-websocket 1.1.0 writes with one `send`,
  which can cut a large message short on a full buffer (simple-websocket issue #45);
- one lock per socket keeps the writer's writes and the direct ones from interleaving;
- a broadcast's frame is built once and the same bytes go to every socket: a server's frames
  are not masked, and no extension changes them since the server declines compression
  (`websocket_compression`); a socket that did negotiate an extension is left to engine.io.
"""

from collections import Counter
from typing import Any

import engineio.socket
from engineio import exceptions as engineio_exceptions
from gevent.lock import Semaphore

#: How packets left (tests and benchmarks read it): "direct", "queued" (the WebSocket was
#: busy) and "unsent_tail" (a direct write the kernel took only part of).
writes: Counter[str] = Counter()


#: FIN set, and the opcode of a text or a binary message (RFC 6455 5.2).
_TEXT, _BINARY = 0x81, 0x82


def websocket_frame(message: str | bytes) -> bytes:
    """One unmasked, uncompressed WebSocket frame holding the whole message."""
    if isinstance(message, str):
        payload, first = message.encode(), _TEXT
    else:
        payload, first = message, _BINARY
    length = len(payload)
    if length < 126:
        header = bytes((first, length))
    elif length < 1 << 16:
        header = bytes((first, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, 127)) + length.to_bytes(8, "big")
    return header + payload


#: The last packet framed and its frame: a broadcast hands the same packet to every socket.
_last_framed: tuple[Any, bytes] | None = None


def _frame_of(packet: Any) -> bytes:
    global _last_framed
    if _last_framed is None or _last_framed[0] is not packet:
        _last_framed = (packet, websocket_frame(packet.encode()))
    return _last_framed[1]


def _plain(ws: Any) -> bool:
    """Whether engine.io's WebSocket is simple-websocket's with no extension in use."""
    websocket = getattr(ws, "ws", None)  # simple_websocket.Server
    connection = getattr(getattr(websocket, "ws", None), "connection", None)  # wsproto's
    extensions = getattr(getattr(connection, "_proto", None), "extensions", None)
    return hasattr(websocket, "sock") and extensions == []


class _UnsentTail(bytes):
    """The end of a frame the kernel did not take at once; the writer sends it as it is."""

    def encode(self) -> bytes:  # the writer sends `packet.encode()`
        return self


class _WebSocketWrites:
    """engine.io's WebSocket wrapper (simple-websocket under gevent), every write whole and
    under the socket's lock."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._lock = Semaphore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def _check_open(self) -> None:
        if not self._ws.ws.connected:
            raise OSError("the WebSocket is closed")  # as engine.io's wrapper reports it

    def send(self, message: str | bytes) -> None:
        """The writer greenlet's write: whole, after any direct write in progress."""
        with self._lock:
            self._check_open()
            frame = message if isinstance(message, _UnsentTail) else websocket_frame(message)
            self._ws.ws.sock.sendall(frame)

    def send_now(self, frame: bytes, queue_tail: Any) -> bool:
        """Write `frame` without waiting, if no other write is under way: False if one is
        (or the socket failed), and the caller queues the packet. A tail the kernel did not
        take is handed to `queue_tail` for the writer."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._check_open()
            try:
                sent = self._ws.ws.sock.send(frame, 0, 0.0)  # gevent: raise, never wait
            except BlockingIOError:
                sent = 0
            if sent < len(frame):
                queue_tail(_UnsentTail(frame[sent:]))
                writes["unsent_tail"] += 1
            return True
        except OSError:
            return False  # the writer meets the same error and closes the socket
        finally:
            self._lock.release()


class DirectWriteSocket(engineio.socket.Socket):
    """An Engine.IO socket that writes at once over an idle WebSocket (module docstring)."""

    _writes: _WebSocketWrites | None = None

    def send(self, pkt: Any) -> None:
        direct = self._writes
        if (
            direct is None
            or not self.upgraded
            or self.upgrading
            or self.closed
            or not self.queue.empty()
        ):
            writes["queued"] += 1
            return super().send(pkt)
        if not self.check_ping_timeout():
            return None
        if direct.send_now(_frame_of(pkt), self.queue.put):
            writes["direct"] += 1
        else:
            writes["queued"] += 1
            self.queue.put(pkt)
        return None

    def poll(self) -> list[Any]:
        """The writer's wait for packets. engine.io's ends the WebSocket when nothing was
        queued for a ping interval plus its timeout, counting on the pings to pass through
        the queue; here they are written directly, so an open WebSocket's writer waits on
        (a dead client is still caught by the ping check, which closes the socket)."""
        while True:
            try:
                return super().poll()
            except engineio_exceptions.QueueEmpty:
                if self._writes is None or self.closed or self.closing:
                    raise

    def _websocket_handler(self, ws: Any) -> Any:
        if self.server.async_mode != "gevent" or not _plain(ws):
            return super()._websocket_handler(ws)  # not simple-websocket under gevent
        self._writes = _WebSocketWrites(ws)
        try:
            return super()._websocket_handler(self._writes)
        finally:
            self._writes = None


def install_direct_writes() -> None:
    """Make engine.io create its sockets as DirectWriteSockets (once per process)."""
    engineio.socket.Socket = DirectWriteSocket  # type: ignore[misc]
