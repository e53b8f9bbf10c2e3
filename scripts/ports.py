"""Free loopback ports for the servers our tools start (the local stack, the live server).

A port from `bind(0)` comes from the kernel's ephemeral range, the same range every outgoing
connection takes its local port from. With tests running in parallel, some client's
connection could take the port between our asking and the server binding it: a full test
run once lost a whole module of stack tests to "Address already in use". The ports here are
chosen at random below that range, where only listeners live, and checked free.

A port checked free is not yet bound: until its server binds it, another server could be
handed the same one. So a process never hands out a port twice, and test processes running
in parallel each choose from their own share of the range (`use_share`; a full test run
once lost two stack tests to a worker finding its port taken).
"""

import secrets
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
#: Below this, ports are not handed out to outgoing connections (Linux's default range
#: starts at 32768; the real range is read when available).
DEFAULT_EPHEMERAL_START = 32768
#: Lowest port chosen: above the well-known and most registered services' ports.
LOWEST = 20000
ATTEMPTS = 200

#: Ports this process has handed out (their servers may not have bound them yet).
_handed_out: set[int] = set()
#: This process's share of the range: (index, count) of equal slices.
_share = (0, 1)


def use_share(index: int, count: int) -> None:
    """Choose ports only from slice `index` of `count` equal slices of the range (one per
    parallel test process, so no two of them pick the same port)."""
    global _share
    if not 0 <= index < count:
        raise ValueError(f"share {index} of {count}")
    _share = (index, count)


def ephemeral_start() -> int:
    """The first port the kernel gives outgoing connections."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_EPHEMERAL_START


def port_is_free(port: int) -> bool:
    """Nobody listens there (connections of a stopped server lingering in TIME_WAIT are fine,
    as they are for the servers, which all set SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nobody listens on now, outside the ephemeral range when it can be."""
    top = ephemeral_start()
    index, count = _share
    width = (top - LOWEST) // count
    if width > 1000:
        low = LOWEST + index * width
        for _ in range(ATTEMPTS):
            port = low + secrets.randbelow(width)
            if port not in _handed_out and port_is_free(port):
                _handed_out.add(port)
                return port
    with socket.socket() as s:  # a machine with an unusual range: the kernel's choice
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
