"""Socket events: the documented catalogue equals the registered handlers, and every event ×
persona × foreign object is refused without writing anything.

Socket events skip Flask's decorators, CSRF checks and rate limits, so each handler must check
access itself; this file proves it for every event the server registers.
"""

import json
import logging
import uuid

import pytest

from deliberation.extensions import socketio
from tests.security import support
from tests.security.support import (
    PERSONAS,
    REFUSAL_MAY_WRITE,
    Target,
    changed_tables,
    db_digest,
    documented_client_events,
    persona_client,
    registered_handlers,
)

#: Error codes that mean "your role does not allow this" (the roundtable uses finer codes).
ROLE_REFUSALS = {"forbidden", "not_lead", "not_theme_team", "not_table_facilitator"}


def test_every_registered_socket_event_is_documented_and_vice_versa(app):
    documented = {ns: set(events) for ns, events in documented_client_events().items()}
    registered = registered_handlers()
    undocumented = {
        ns: sorted(names - documented.get(ns, set()))
        for ns, names in registered.items()
        if names - documented.get(ns, set())
    }
    missing = {
        ns: sorted(names - registered.get(ns, set()))
        for ns, names in documented.items()
        if names - registered.get(ns, set())
    }
    assert undocumented == {}, f"handlers missing from docs/realtime.md: {undocumented}"
    assert missing == {}, f"documented events without a handler: {missing}"
    assert "/" in registered


def test_anonymous_connections_are_refused_on_every_namespace(app):
    for namespace in registered_handlers():
        client = socketio.test_client(app, namespace=namespace)
        assert not client.is_connected(namespace), namespace


def payload_values(event: support.DocumentedEvent, world: support.World) -> list[tuple]:
    """Payloads for the event: every id-like key filled with each foreign object of its kind."""
    combos: list[tuple[dict, list[Target]]] = [({}, [])]
    for key, declared in event.payload.items():
        if key == "client_id":
            options = [(uuid.uuid4().hex, None)]
        elif key in world.ids:
            options = [(t.value, t) for t in world.ids[key]]
        elif "int" in declared:
            options = [(1, None)]
        elif '"agree"' in declared or "agree" in declared:
            options = [("agree", None)]
        elif "bool" in declared:
            options = [(True, None)]
        else:
            options = [("A probe from another persona", None)]
        combos = [
            ({**data, key: value}, [*targets, target] if target else targets)
            for data, targets in combos
            for value, target in options
        ]
    return combos


def test_socket_event_matrix(app, caplog, capsys):
    world = support.build_world(app)
    catalogue = documented_client_events()
    tried = 0
    failures: list[str] = []
    refusals_logged = 0
    facilitator_only_tried = 0
    for persona in PERSONAS:
        if persona in ("anonymous", "admin"):
            continue
        client, _token = persona_client(app, world, persona)
        for namespace, events in catalogue.items():
            sock = socketio.test_client(app, namespace=namespace, flask_test_client=client)
            assert sock.is_connected(namespace), (persona, namespace)
            for event in events.values():
                for payload, targets in payload_values(event, world):
                    readable = all(t.may_read(persona, event.name) for t in targets)
                    writable = all(t.may_write(persona, event.name) for t in targets)
                    if readable and writable and targets:
                        continue  # allowed: not an attack
                    tried += 1
                    where = f"{persona} {namespace} {event.name} {payload}"
                    with app.app_context():
                        before = db_digest(exclude=REFUSAL_MAY_WRITE)
                    caplog.clear()
                    with caplog.at_level(logging.WARNING, logger="deliberation"):
                        ack = sock.emit(event.name, payload, namespace=namespace, callback=True)
                    with app.app_context():
                        after = db_digest(exclude=REFUSAL_MAY_WRITE)
                    if not isinstance(ack, dict):
                        failures.append(f"{where}: no acknowledgement ({ack!r})")
                        continue
                    seen = json.dumps([ack, sock.get_received(namespace)], default=str)
                    for marker, allowed in world.secrets.items():
                        if persona not in allowed and marker in seen:
                            failures.append(f"{where}: leaks {marker!r}")
                    if ack.get("error") == "server_error":
                        failures.append(f"{where}: server error")
                    if not readable and ack.get("ok") is not False:
                        failures.append(f"{where}: foreign object answered {ack}")
                    if not writable and (changed := changed_tables(before, after)):
                        failures.append(f"{where}: wrote to {changed}")
                    if ack.get("error") in ROLE_REFUSALS:
                        if any("refused" in r.getMessage() for r in caplog.records):
                            refusals_logged += 1
                        elif event.facilitator_only or ack["error"] != "forbidden":
                            # A refused facilitator/lead/theme-team event must leave a trace.
                            failures.append(f"{where}: refusal not logged")
                    if event.facilitator_only and persona in ("citizen", "official"):
                        facilitator_only_tried += 1
                        if ack.get("error") != "forbidden":
                            failures.append(f"{where}: facilitator-only event answered {ack}")
            sock.disconnect(namespace=namespace)
    with capsys.disabled():
        print(
            f"\n[socket] events×personas×objects tried: {tried}; unexpected successes: "
            f"{len(failures)}; facilitator-only probes: {facilitator_only_tried}; "
            f"refusals logged: {refusals_logged}"
        )
    assert failures == [], "\n".join(failures[:40])


@pytest.mark.parametrize("payload", [None, 1, "x", [], [1, 2], {"unexpected": True}])
def test_every_event_survives_wrong_shapes(app, payload):
    world = support.build_world(app)
    client, _token = persona_client(app, world, "citizen")
    for namespace, events in documented_client_events().items():
        sock = socketio.test_client(app, namespace=namespace, flask_test_client=client)
        for name, event in events.items():
            with app.app_context():
                before = db_digest(exclude=REFUSAL_MAY_WRITE)
            ack = sock.emit(name, payload, namespace=namespace, callback=True)
            assert isinstance(ack, dict), (namespace, name, ack)
            assert ack.get("error") != "server_error", (namespace, name, ack)
            if not event.payload:
                continue  # an event that takes no fields (e.g. "notifications") may ignore them
            assert ack.get("ok") is False, (namespace, name, ack)
            with app.app_context():
                assert changed_tables(before, db_digest(exclude=REFUSAL_MAY_WRITE)) == []
