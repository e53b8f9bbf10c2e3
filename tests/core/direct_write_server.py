"""A bare Engine.IO server on gevent with Madang's direct writes, for test_socket_writes.py:
`python -m tests.core.direct_write_server PORT`. A message "burst N SIZE" makes it send N
numbered messages of SIZE characters at once; "everyone TEXT" sends one packet to every
socket, as python-socketio's broadcasts do; "stats" answers with `socket_writes.writes`."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import engineio  # noqa: E402
from engineio import packet  # noqa: E402
from gevent import pywsgi  # noqa: E402

from deliberation.core import socket_writes  # noqa: E402
from deliberation.serve import WSGIHandler  # noqa: E402

socket_writes.install_direct_writes()
# Pings every second, answered within one: engine.io's writer gave up after two idle seconds.
server = engineio.Server(
    async_mode="gevent", max_http_buffer_size=2**20, ping_interval=1, ping_timeout=1
)


@server.on("message")
def on_message(sid: str, data: str) -> None:
    command, *args = data.split()
    if command == "burst":
        count, size = int(args[0]), int(args[1])
        for number in range(count):
            server.send(sid, f"{number}:" + "x" * size)
    elif command == "everyone":
        shared = packet.Packet(packet.MESSAGE, data=" ".join(args))
        for each in list(server.sockets):
            server.send_packet(each, shared)
    elif command == "stats":
        server.send(sid, "stats:" + json.dumps(dict(socket_writes.writes)))


if __name__ == "__main__":
    pywsgi.WSGIServer(
        ("127.0.0.1", int(sys.argv[1])), engineio.WSGIApp(server), handler_class=WSGIHandler
    ).serve_forever()
