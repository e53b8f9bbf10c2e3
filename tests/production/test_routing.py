"""nginx's routing of the production stack: fill the first worker, then spill to the others.

A browser sends no route cookie: it goes to the first worker until that one holds
`FILL_SOCKETS` connections, and to the others (nginx's `backup` servers) beyond that and
while the first is down. A `madang_route` cookie pins a client to the worker its hash picks
(the tests' and an operator's way to reach one worker); nothing sets it.
"""

import re
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from scripts.localstack import LocalStack
from scripts.ports import free_port
from scripts.servers import DEPLOY_DIR, FILL_SOCKETS, Nginx

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def upstream_of(response: requests.Response) -> str:
    return response.headers["X-Madang-Upstream"]


def worker_address(stack: LocalStack, index: int) -> str:
    return stack.workers[index].url.removeprefix("http://")


def open_socket(base_url: str, stack_of_sockets: ExitStack) -> str:
    """A browser's WebSocket through nginx, held open; returns the worker that took it."""
    url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    socket = stack_of_sockets.enter_context(connect(url, open_timeout=10, proxy=None))
    assert socket.recv(timeout=10).startswith("0")  # Engine.IO's open packet
    return socket.response.headers["X-Madang-Upstream"]


@pytest.fixture
def small_nginx(stack: LocalStack, tmp_path: Path):
    """A second nginx in front of the same two workers whose first worker fills at 3 sockets."""
    ports = [w.port for w in stack.workers]

    def start(upstream_ports: list[int] = ports, fill: int = 3) -> Nginx:
        server = Nginx(tmp_path / f"nginx-{fill}", free_port(), upstream_ports, fill_sockets=fill)
        server.start()
        started.append(server)
        return server

    started: list[Nginx] = []
    yield start
    for server in started:
        server.stop()


def test_new_browsers_all_go_to_the_first_worker_and_get_no_route_cookie(stack):
    responses = [requests.get(stack.url + "/healthz", timeout=5) for _ in range(30)]
    assert {upstream_of(r) for r in responses} == {worker_address(stack, 0)}
    assert all("madang_route" not in r.headers.get("Set-Cookie", "") for r in responses)
    with ExitStack() as sockets:
        assert {open_socket(stack.url, sockets) for _ in range(20)} == {worker_address(stack, 0)}


def test_sockets_spill_to_the_next_worker_once_the_first_is_full(stack, small_nginx):
    nginx = small_nginx(fill=3)
    with ExitStack() as sockets:
        first_three = [open_socket(nginx.url, sockets) for _ in range(3)]
        assert set(first_three) == {worker_address(stack, 0)}
        spilled = [open_socket(nginx.url, sockets) for _ in range(4)]
        assert set(spilled) == {worker_address(stack, 1)}
    # The first worker's sockets closed: it takes the next browser again.
    with ExitStack() as sockets:
        assert open_socket(nginx.url, sockets) == worker_address(stack, 0)


def test_while_the_first_worker_is_down_everyone_goes_to_the_next(stack, small_nginx):
    down = free_port()  # nothing listens there: a worker that is restarting
    nginx = small_nginx([down, stack.workers[1].port], fill=3)
    responses = [requests.get(nginx.url + "/healthz", timeout=5) for _ in range(10)]
    assert all(r.status_code == 200 for r in responses)
    assert all(upstream_of(r).endswith(worker_address(stack, 1)) for r in responses)
    with ExitStack() as sockets:
        assert open_socket(nginx.url, sockets) == worker_address(stack, 1)


def test_a_route_cookie_pins_a_client_to_one_worker(stack):
    reached: dict[str, set[str]] = {}
    for i in range(40):
        cookie = {"madang_route": f"pin{i:04d}"}
        for _ in range(3):
            response = requests.get(stack.url + "/healthz", cookies=cookie, timeout=5)
            reached.setdefault(cookie["madang_route"], set()).add(upstream_of(response))
    assert all(len(workers) == 1 for workers in reached.values()), reached
    assert set().union(*reached.values()) == {worker_address(stack, i) for i in (0, 1)}


def test_the_production_site_fills_its_first_worker_as_the_local_stack_does():
    site = (DEPLOY_DIR / "nginx" / "madang.conf").read_text()
    group = re.search(r"upstream madang \{(.*?)\}", site, re.S).group(1)
    servers = re.findall(r"^\s*server (\S+) (.*);$", group, re.M)
    assert "zone madang" in group  # one count for all of nginx's processes
    assert f"max_conns={FILL_SOCKETS}" in servers[0][1] and "backup" not in servers[0][1]
    assert servers[1:] and all("backup" in options for _address, options in servers[1:])
    locations = (DEPLOY_DIR / "nginx" / "madang-locations.conf").read_text()
    assert locations.count("proxy_pass http://$madang_upstream;") == 2
