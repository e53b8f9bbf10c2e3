"""Socket.IO client managers that know each socket's rooms, so a disconnect costs the
socket's own rooms, not every room of the namespace.

python-socketio's `BaseManager.basic_disconnect` (5.18) looks for the leaving socket in every
room of its namespace. Every socket has a room of its own (its sid), and each person a user
room, so with N sockets on a process one disconnect costs O(N) and a hall's phones dropping
together O(N²): py-spy on two workers as the 5,500 sockets of a 5,000-person rehearsal closed
found a quarter of the workers' time in that search (`BidictBase.__contains__` alone 12 %),
while the workers served nobody else. `get_rooms` searched the same way.

Here every room a socket enters is also noted under the socket (`rooms_of`), kept by the two
primitives every join and leave goes through (`basic_enter_room`, `basic_leave_room`).
`tests/core/test_room_index.py` runs the library's own disconnect and this one side by side on
the same joins and checks they leave the same state.
"""

from __future__ import annotations

from typing import Any

import socketio


class RoomIndex:
    """Mixin for a python-socketio manager: (namespace, sid) -> its rooms, in joining order."""

    rooms: dict[str, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rooms_of: dict[tuple[str, str], dict[Any, None]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self.rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self.rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self.rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # The library's steps (socketio/base_manager.py), with the rooms taken from the index.
        if namespace not in self.rooms:
            return
        for room in list(self.rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)  # drops the socket's index entry
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms the socket is in (its sid's room included, as the library's)."""
        return [room for room in self.rooms_of.get((namespace, sid), ()) if room is not None]


class IndexedManager(RoomIndex, socketio.Manager):
    """One process (the embedded default)."""


class IndexedRedisManager(RoomIndex, socketio.RedisManager):
    """Several processes through Redis (production)."""


def client_manager(message_queue: str | None) -> socketio.Manager:
    """The manager Flask-SocketIO would make for `message_queue` (none, or a redis:// URL on
    its default channel), with the room index."""
    if message_queue:
        return IndexedRedisManager(message_queue, channel="flask-socketio", write_only=False)
    return IndexedManager()
