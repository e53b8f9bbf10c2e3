"""Direct writes (core/socket_writes.py) on a real gevent Engine.IO server and a real socket:
packets go out at once over an idle WebSocket, a reader too slow to keep up still gets every
message whole and in order, and once it caught up writes are direct again."""

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import Message, TextMessage

from deliberation.core.socket_writes import websocket_frame
from scripts.ports import free_port
from tests.production.helpers import run_async

pytestmark = pytest.mark.slow


@pytest.fixture
def engineio_server(tmp_path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.core.direct_write_server", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"ws://127.0.0.1:{port}/engine.io/?EIO=4&transport=websocket"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                run_async(_open_and_close(url))
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def _open_and_close(url: str) -> None:
    async with websockets.connect(url, proxy=None, compression=None) as ws:
        await ws.recv()


async def receive(ws, timeout: float = 20) -> str:
    """The next message that is not a ping (pings are answered, as a browser does)."""
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if message != "2":
            return message
        await ws.send("3")


async def burst_then_read(url: str, count: int, size: int, read_after_s: float) -> dict:
    """Ask for a burst, read nothing for `read_after_s`, then check every message."""
    async with websockets.connect(url, proxy=None, compression=None, max_size=2**20) as ws:
        assert (await ws.recv()).startswith("0{")
        await ws.send(f"4burst {count} {size}")
        await asyncio.sleep(read_after_s)  # the kernel's buffers fill up meanwhile
        for number in range(count):
            message = await receive(ws)
            assert message == f"4{number}:" + "x" * size, (number, len(message))
        await ws.send("4burst 5 100")  # caught up: small messages go out directly again
        for number in range(5):
            assert await receive(ws) == f"4{number}:" + "x" * 100
        await ws.send("4stats")
        stats = await receive(ws)
        return json.loads(stats.removeprefix("4stats:"))


def test_idle_sockets_are_written_at_once(engineio_server):
    stats = run_async(burst_then_read(engineio_server, 10, 100, 0))
    # The open packet is queued before the WebSocket handler starts; everything else is direct.
    assert stats.get("direct", 0) >= 15
    assert stats.get("unsent_tail", 0) == 0


def test_a_slow_reader_gets_every_message_whole_and_in_order(engineio_server):
    # 300 x 64 KB (19 MB) sent at once to a reader that waits: the kernel takes part of a frame
    # at some point, the writer finishes it, and the rest waits in the queue behind it.
    stats = run_async(burst_then_read(engineio_server, 300, 65536, 1.5))
    assert stats["unsent_tail"] >= 1
    assert stats["queued"] >= 1
    assert stats["direct"] >= 5 + 1  # the first of the burst, and the later small ones


async def idle_then_burst(url: str, idle_s: float) -> list[str]:
    """Answer pings (sent directly) and nothing else for `idle_s`, then ask for a burst."""
    async with websockets.connect(url, proxy=None, compression=None) as ws:
        assert (await ws.recv()).startswith("0{")
        deadline = time.monotonic() + idle_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            assert message == "2", "only pings were due"
            await ws.send("3")
        await ws.send("4burst 3 10")
        return [await receive(ws) for _ in range(3)]


def test_a_socket_whose_packets_all_go_directly_stays_open(engineio_server):
    # engine.io's writer gives up after a ping interval and timeout (2 s here) with an empty
    # queue; the pings now bypass the queue, and the socket must stay open regardless.
    assert run_async(idle_then_burst(engineio_server, 4.5)) == [
        f"4{number}:" + "x" * 10 for number in range(3)
    ]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_frames_are_the_ones_wsproto_builds(size):
    server_side = Connection(ConnectionType.SERVER)  # no extensions: what the site negotiates
    text, data = "가" * (size // 3) + "x" * (size % 3), bytes(range(256)) * (size // 256)
    assert websocket_frame(text) == server_side.send(TextMessage(data=text))
    assert websocket_frame(data) == server_side.send(Message(data=data))


async def everyone_hears_one_packet(url: str) -> tuple[list[str], dict]:
    """Three sockets; one asks for a packet sent to every socket, the same object each time."""
    async with (
        websockets.connect(url, proxy=None, compression=None) as first,
        websockets.connect(url, proxy=None, compression=None) as second,
        websockets.connect(url, proxy=None, compression=None) as third,
    ):
        for ws in (first, second, third):
            assert (await ws.recv()).startswith("0{")
        await first.send("4everyone 안녕하세요 everyone")
        heard = [await receive(ws) for ws in (first, second, third)]
        await first.send("4stats")
        return heard, json.loads((await receive(first)).removeprefix("4stats:"))


def test_a_packet_for_every_socket_is_framed_once_and_heard_by_all(engineio_server):
    heard, stats = run_async(everyone_hears_one_packet(engineio_server))
    assert heard == ["4안녕하세요 everyone"] * 3
    assert stats["direct"] >= 3


async def compressed_burst(url: str) -> tuple[list[str], dict]:
    extensions = [ClientPerMessageDeflateFactory(client_max_window_bits=True)]
    async with websockets.connect(url, proxy=None, compression=None, extensions=extensions) as ws:
        assert ws.protocol.extensions  # this bare server accepts the offer (the site declines)
        assert (await ws.recv()).startswith("0{")
        await ws.send("4burst 3 1000")
        messages = [await receive(ws) for _ in range(3)]
        await ws.send("4stats")
        return messages, json.loads((await receive(ws)).removeprefix("4stats:"))


def test_a_compressed_socket_is_left_to_engineio(engineio_server):
    messages, stats = run_async(compressed_burst(engineio_server))
    assert messages == [f"4{number}:" + "x" * 1000 for number in range(3)]
    assert stats.get("direct", 0) == 0  # our frames would be wrong there: engine.io writes
