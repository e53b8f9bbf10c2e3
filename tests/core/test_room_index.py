"""The room index (deliberation/core/room_index.py): the library's manager and the indexed one,
given the same joins, leaves and disconnects, end in the same state; and a disconnect no
longer searches every room of the namespace."""

import itertools
from typing import Any

import socketio
from bidict import BidictBase

from deliberation.core.realtime import socket_options
from deliberation.core.room_index import IndexedManager, IndexedRedisManager, client_manager

NAMESPACE = "/roundtable"


def manager_with_server(manager: socketio.Manager) -> socketio.Manager:
    """`manager` attached to a real Socket.IO server whose sids are s1, s2, ... (so two
    managers given the same steps get the same sids)."""
    server = socketio.Server(client_manager=manager, async_mode="threading")
    counter = itertools.count(1)
    server.eio.generate_id = lambda: f"s{next(counter)}"
    return manager


def state(manager: socketio.Manager) -> dict[str, Any]:
    rooms = {
        namespace: {room: dict(members) for room, members in by_room.items()}
        for namespace, by_room in manager.rooms.items()
    }
    return {
        "rooms": rooms,
        "callbacks": dict(manager.callbacks),
        "pending_connect": {ns: list(sids) for ns, sids in manager.pending_connect.items()},
        "pending_disconnect": {ns: list(sids) for ns, sids in manager.pending_disconnect.items()},
    }


def a_roundtable(manager: socketio.Manager) -> list[str]:
    """Sixty sockets of forty people at six tables, with moves, a closed room, a socket
    still connecting, one disconnecting and pending callbacks; returns the sids."""
    sids = []
    for person in range(60):
        sid = manager.pre_connect(f"eio{person}", NAMESPACE)
        if person != 59:  # the last one is still connecting
            manager.connect(sid, NAMESPACE)
        manager.enter_room(sid, NAMESPACE, f"user:{person % 40}")
        manager.enter_room(sid, NAMESPACE, "session:1")
        manager.enter_room(sid, NAMESPACE, f"table:{person % 6}")
        sids.append(sid)
    for sid in sids[:10]:  # moved to another table
        manager.leave_room(sid, NAMESPACE, f"table:{int(sid[1:]) % 6 - 1}")
        manager.enter_room(sid, NAMESPACE, "table:9")
    manager.enter_room(sids[3], NAMESPACE, "staff:1")
    manager.close_room("table:5", NAMESPACE)
    manager.callbacks[sids[7]] = {1: print}
    manager.callbacks[sids[8]] = {2: print}
    manager.pre_disconnect(sids[8], NAMESPACE)
    manager.pre_connect("eio-other", "/agendas")
    return sids


def test_the_indexed_manager_ends_in_the_librarys_state_after_every_disconnect():
    library = manager_with_server(socketio.Manager())
    indexed = manager_with_server(IndexedManager())
    sids = a_roundtable(library)
    assert a_roundtable(indexed) == sids
    assert state(indexed) == state(library)
    for sid in [sids[8], sids[59], sids[7], *sids[20:45]]:
        library.disconnect(sid, NAMESPACE)
        indexed.disconnect(sid, NAMESPACE)
        assert state(indexed) == state(library), sid
    for sid in sids:
        # The same rooms (in the order each joined them, where the library lists them in the
        # order the rooms were made).
        assert set(indexed.get_rooms(sid, NAMESPACE)) == set(library.get_rooms(sid, NAMESPACE))
    # The index holds exactly the rooms the library holds each socket in, and nothing of a
    # socket that left.
    derived: dict[tuple[str, str], set] = {}
    for namespace, by_room in library.rooms.items():
        for room, members in by_room.items():
            for sid in members:
                derived.setdefault((namespace, sid), set()).add(room)
    assert {key: set(rooms) for key, rooms in indexed.rooms_of.items()} == derived
    for sid in [sids[8], sids[59], sids[7], *sids[20:45]]:
        assert (NAMESPACE, sid) not in indexed.rooms_of


def test_a_disconnect_does_not_search_every_room(monkeypatch):
    """3,000 sockets, each in its own room and a user room: the library looks in ~6,000 rooms
    for each leaving socket; the index in none."""
    searched = [0]
    contains = BidictBase.__contains__

    def counting(self, key):
        searched[0] += 1
        return contains(self, key)

    figures = {}
    for name, manager in (("library", socketio.Manager()), ("indexed", IndexedManager())):
        manager_with_server(manager)
        sids = []
        for person in range(3000):
            sid = manager.pre_connect(f"eio{person}", NAMESPACE)
            manager.connect(sid, NAMESPACE)
            manager.enter_room(sid, NAMESPACE, f"user:{person}")
            manager.enter_room(sid, NAMESPACE, f"table:{person // 10}")
            sids.append(sid)
        searched[0] = 0
        monkeypatch.setattr(BidictBase, "__contains__", counting)
        for sid in sids[:100]:
            manager.disconnect(sid, NAMESPACE)
        monkeypatch.setattr(BidictBase, "__contains__", contains)
        figures[name] = searched[0]
        assert len(manager.rooms[NAMESPACE][None]) == 2900
    assert figures["library"] > 100 * 6000 * 0.9  # the cost removed, as measured here
    assert figures["indexed"] < 100 * 5, figures


def test_the_app_uses_the_indexed_managers(app):
    from deliberation.extensions import socketio as app_socketio

    assert isinstance(app_socketio.server.manager, IndexedManager)
    redis_options = socket_options({**app.config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert isinstance(redis_options["client_manager"], IndexedRedisManager)
    assert redis_options["client_manager"].channel == "flask-socketio"
    assert isinstance(client_manager(None), IndexedManager)
