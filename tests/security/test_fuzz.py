"""Hypothesis fuzzing of every route and every socket event: malformed form posts, query strings
and socket payloads (wrong types, missing fields, huge numbers, unicode edge cases).

Oracles: no 5xx, no server_error acknowledgement, the socket stays usable, and a refused request
(4xx, or ok: false) writes nothing at all.
"""

import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deliberation.core import realtime
from deliberation.extensions import socketio
from tests.security import support
from tests.security.support import (
    STATE_CHANGING,
    changed_tables,
    db_digest,
    documented_client_events,
    fillings,
    persona_client,
    routes,
)
from tests.security.test_authz_matrix import harvested_form

FUZZ = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

EDGE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\u202e",
        "\ufeff",
        "\u200b" * 10,
        "𝕏" * 50,
        "Ａ" * 300,
        "e\u0301" * 100,
        "한국어" * 1000,
        "9" * 400,
        "-1",
        "0",
        "1e309",
        "NaN",
        "null",
        "[]",
        "{}",
        "<script>",
        "%00",
        "../../etc/passwd",
        "x" * 70_000,
    ]
)
EDGE_VALUES = ["9" * 30, "-1", "\x00", "", "𝕏" * 3000]
NUMBER_TEXT = st.integers(min_value=-(2**80), max_value=2**80).map(str)
VALUE = st.one_of(st.text(max_size=300), EDGE_TEXT, NUMBER_TEXT, st.just("y"), st.just("on"))


def form_strategy(field_names: list[str]):
    known = st.dictionaries(
        st.sampled_from(field_names) if field_names else st.just("x"),
        st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3)),
        max_size=max(1, len(field_names)),
    )
    extra = st.dictionaries(st.text(min_size=1, max_size=20), VALUE, max_size=3)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


SKIP = {"accounts.logout"}  # would only end the fuzzer's own session


def http_prober(app, client, token, filled, names, methods, errors, counter):
    """A hypothesis test posting malformed forms (or query strings) to one concrete URL."""

    def with_edge_examples(test):
        # Always tried, whatever hypothesis draws: every field at once set to an edge value.
        for method in methods:
            for value in EDGE_VALUES:
                test = example(data=dict.fromkeys(names, value), method=method)(test)
        return test

    @FUZZ
    @with_edge_examples
    @given(data=form_strategy(names), method=st.sampled_from(methods))
    def probe(data, method):
        counter[0] += 1
        with app.app_context():
            before = db_digest()
        if method in STATE_CHANGING:
            response = client.open(filled.url, method=method, data={**data, "csrf_token": token})
        else:
            response = client.open(filled.url, method=method, query_string=data)
        where = f"{method} {filled.url} {str(data)[:200]}"
        if response.status_code >= 500:
            errors.append(f"{where}: {response.status_code}")
        if response.status_code >= 400:
            with app.app_context():
                if changed := changed_tables(before, db_digest()):
                    errors.append(f"{where}: refused ({response.status_code}) but wrote {changed}")

    return probe


# One test per persona, so that the test run's workers can share the longest test (~1 min).
@pytest.mark.slow
@pytest.mark.parametrize("persona", ["citizen", "admin"])
def test_fuzz_every_route(app, capsys, persona):
    world = support.build_world(app)
    app.config["RATELIMIT_ENABLED"] = False
    counter = [0]
    errors: list[str] = []
    client, token = persona_client(app, world, persona)
    for rule in routes(app):
        if rule.endpoint in SKIP:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        filled = fillings(rule, world)[0]
        page = client.get(filled.url) if "GET" in methods else None
        names = sorted(harvested_form(page.get_data(as_text=True))) if page else []
        names += ["page", "q", "after", "action", "next"]
        http_prober(app, client, token, filled, names, methods, errors, counter)()
    with capsys.disabled():
        print(
            f"\n[fuzz http, {persona}] inputs tried: {counter[0]}; server errors or partial "
            f"writes: {len(errors)}"
        )
    assert errors == [], "\n".join(errors[:30])


JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    EDGE_TEXT.filter(lambda t: len(t) < 20_000),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def payload_strategy(event: support.DocumentedEvent, world: support.World):
    def value_for(key: str):
        real = [t.value for t in world.ids.get(key, [])]
        return st.one_of(JSON_VALUE, st.sampled_from(real)) if real else JSON_VALUE

    keys = list(event.payload)
    documented = (
        st.fixed_dictionaries({}, optional={k: value_for(k) for k in keys}) if keys else st.just({})
    )
    with_extra = st.tuples(
        documented, st.dictionaries(st.text(max_size=10), JSON_VALUE, max_size=2)
    )
    return st.one_of(with_extra.map(lambda p: {**p[1], **p[0]}), JSON_VALUE)


def socket_prober(app, sock, namespace, event, world, caplog, errors, counter):
    """A hypothesis test sending malformed payloads for one documented event."""

    def with_edge_examples(test):
        for value in (2**80, -1, 0.5, "", "\x00", None, [], {}, "9" * 30, True):
            test = example(payload=dict.fromkeys(event.payload, value))(test)
        return test

    @FUZZ
    @with_edge_examples
    @given(payload=payload_strategy(event, world))
    def probe(payload):
        counter[0] += 1
        with app.app_context():
            before = db_digest(exclude={"audit_entries"})
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            ack = sock.emit(event.name, payload, namespace=namespace, callback=True)
        where = f"{namespace} {event.name} {str(payload)[:200]}"
        if not isinstance(ack, dict) or ack.get("error") == "server_error":
            errors.append(f"{where}: {ack!r}")
        elif ack.get("ok") is False:
            with app.app_context():
                after = db_digest(exclude={"audit_entries"})
            if changed := changed_tables(before, after):
                errors.append(f"{where}: refused but wrote {changed}")
        if any(r.levelno >= logging.ERROR for r in caplog.records):
            errors.append(f"{where}: logged an error")
        if not sock.is_connected(namespace):
            errors.append(f"{where}: the socket was dropped")

    return probe


def test_fuzz_every_socket_event(app, caplog, capsys, monkeypatch):
    world = support.build_world(app)
    app.config["RATELIMIT_ENABLED"] = False
    monkeypatch.setitem(realtime._event_budget, "rate", 1e9)
    monkeypatch.setitem(realtime._event_budget, "burst", 1e9)
    counter = [0]
    errors: list[str] = []
    for persona in ("citizen", "facilitator"):
        client, _token = persona_client(app, world, persona)
        for namespace, events in documented_client_events().items():
            sock = socketio.test_client(app, namespace=namespace, flask_test_client=client)
            for event in events.values():
                socket_prober(app, sock, namespace, event, world, caplog, errors, counter)()
            # Extra and missing positional arguments do not crash the handler either.
            for args in ((), ({}, {}), (1, 2, 3)) if events else ():
                ack = sock.emit(next(iter(events)), *args, namespace=namespace, callback=True)
                if not (isinstance(ack, dict) and ack.get("ok") is False):
                    errors.append(f"{namespace} with {len(args)} arguments: {ack!r}")
            sock.disconnect(namespace=namespace)
    with capsys.disabled():
        print(
            f"\n[fuzz socket] inputs tried: {counter[0]}; server errors or partial writes: "
            f"{len(errors)}"
        )
    assert errors == [], "\n".join(errors[:30])
