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

from scripts.ports import free_port

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
                asyncio.run(_open_and_close(url))
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
    stats = asyncio.run(burst_then_read(engineio_server, 10, 100, 0))
    # The open packet is queued before the WebSocket handler starts; everything else is direct.
    assert stats.get("direct", 0) >= 15
    assert stats.get("unsent_tail", 0) == 0


def test_a_slow_reader_gets_every_message_whole_and_in_order(engineio_server):
    # 300 x 64 KB (19 MB) sent at once to a reader that waits: the kernel takes part of a frame
    # at some point, the writer finishes it, and the rest waits in the queue behind it.
    stats = asyncio.run(burst_then_read(engineio_server, 300, 65536, 1.5))
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
    assert asyncio.run(idle_then_burst(engineio_server, 4.5)) == [
        f"4{number}:" + "x" * 10 for number in range(3)
    ]
