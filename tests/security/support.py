"""Shared machinery for the adversarial suite: personas, a hostile world, DB digests, URL filling,
and the socket event catalogue read from the docs.

Everything here is generated from the running app (its url_map, its models, its registered
namespaces) so that a route or event added later is covered without touching the tests.
"""

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, text
from werkzeug.routing import Rule

from deliberation.accounts.models import Role
from deliberation.extensions import db, socketio
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_division, make_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PERSONAS = ("anonymous", "citizen", "facilitator", "table_facilitator", "official", "admin")

#: Endpoints that an anonymous visitor may use (GET or POST). Everything else must send them
#: to the login page, or refuse (401/403/404).
PUBLIC_ENDPOINTS = {
    "static",
    "home.index",
    "home.participation",
    "home.health",
    "home.favicon",
    "accounts.login",
    "accounts.register",
    "accounts.forgot_password",
    "accounts.reset_password",
    "accounts.accept_invitation",
    "accounts.set_language",
    "accounts.toggle_large_text",
    # Agenda discussions are public reading (DESIGN: anonymous readers get the rendered page).
    "agendas.index",
    "agendas.division_items",
    "agendas.show_item",
    "agendas.more_comments",
    "agendas.show_comment",
    # Ballots, their published receipts (after the close) and the officials' queue are public.
    "voting.index",
    "voting.ballot",
    "voting.receipts",
    "voting.receipts_csv",
    "voting.receipts_json",
    "proposals.index",
    "proposals.detail",
    # A judgement comment's thread of replies is public reading, like the proposal page.
    "proposals.judgement_thread",
    # Each division's accountability record is public (page, CSV, JSON: counts only).
    "proposals.accountability_index",
    "proposals.accountability",
    "proposals.accountability_json",
    "proposals.accountability_csv",
    # Evaluation surveys: the page (it offers the form to participants only) and the results,
    # counts only, small groups combined (no answer is ever shown with a person).
    "evaluations.index",
    "evaluations.show",
    "evaluations.results",
    "evaluations.results_json",
    "evaluations.results_csv",
    "evaluations.trend",
    # Roundtable sessions are announced publicly; results are public; the projector view is
    # reached by its secret link only (a forged token is refused, see worlds.py).
    "roundtables.index",
    "roundtables.detail",
    "roundtables.results",
    "roundtables.projector",
    # The consensus summary of a public discussion is public (page, print, JSON, CSV; its
    # roundtable part as CSV: counts only, like the session's public results).
    "summaries.show",
    "summaries.printable",
    "summaries.as_json",
    "summaries.as_csv",
    "summaries.roundtables_as_csv",
    "summaries.categories_as_csv",
    # Links in mail: the signed token in the URL is the credential (one-click unsubscribe,
    # RFC 8058, is a POST without a session); a forged token is refused and changes nothing.
    "mail.unsubscribe",
    "mail.confirm_address",
}
#: Public endpoints that may legitimately write even for anonymous callers (they write only
#: rows belonging to the caller, e.g. a new account).
ANONYMOUS_WRITES = {
    "accounts.register",
    "accounts.reset_password",
    "accounts.accept_invitation",
    "mail.unsubscribe",
    "mail.confirm_address",
}

#: Tables whose rows a refused request may still add (a refusal may be audited or throttled).
REFUSAL_MAY_WRITE = {"audit_entries"}


# ---------------------------------------------------------------------------------------------
# Database digest: "changes nothing" means every table's rows are byte-identical afterwards.


def db_digest(exclude: Iterable[str] = ()) -> dict[str, str]:
    """A fingerprint of every table's rows (ordered by their primary key), as stored."""
    skip = set(exclude)
    digest: dict[str, str] = {}
    connection = db.session.connection()
    # The driver's own cursor: the digest runs before and after thousands of probes, and
    # SQLAlchemy's statement and row handling cost more than reading the rows.
    cursor = connection.connection.cursor()
    try:
        for name, sql in _digest_queries(connection.dialect):
            if name in skip:
                continue
            cursor.execute(sql)
            digest[name] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    finally:
        cursor.close()
    db.session.rollback()
    return digest


_DIGEST_QUERIES: dict[str, list[tuple[str, str]]] = {}


def _digest_queries(dialect) -> list[tuple[str, str]]:
    """(table, SELECT of all its rows in primary-key order) for every table, compiled once."""
    if dialect.name not in _DIGEST_QUERIES:
        queries = []
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            statement = select(table).order_by(*order)
            queries.append((table.name, str(statement.compile(dialect=dialect))))
        _DIGEST_QUERIES[dialect.name] = queries
    return _DIGEST_QUERIES[dialect.name]


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def table_counts() -> dict[str, int]:
    counts = {
        table.name: db.session.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()  # noqa: S608
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return counts


# ---------------------------------------------------------------------------------------------
# Personas and the hostile world.


@dataclass
class World:
    """People and objects, each object tagged with who may read it and who may change it.

    ``ids[arg]`` lists candidate values for a URL argument named ``arg``; each value carries the
    personas allowed to read and to write it. An object that a persona may neither read nor
    write is a "foreign" object for them: it belongs to someone else, another division, a
    private or a closed session.
    """

    emails: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list["Target"]] = field(default_factory=dict)
    #: Marker strings that only the given personas may ever see in a response.
    secrets: dict[str, set[str]] = field(default_factory=dict)
    #: Pairs that no response to anyone (admins included) may contain together, e.g. a voter's
    #: name and the receipt of their vote (the public receipt list shows each receipt's choice).
    unlinkable: list[tuple[str, str]] = field(default_factory=list)

    def add(
        self,
        arg: str,
        value: Any,
        *,
        read: Iterable[str],
        write: Iterable[str],
        label: str,
        actions: dict[str, Iterable[str]] | None = None,
        reads: dict[str, Iterable[str]] | None = None,
    ) -> None:
        """Register a foreign object; ``actions`` overrides ``write`` and ``reads`` overrides
        ``read`` for named actions (an endpoint's function name or a socket event name)."""
        overrides = {name: frozenset(who) for name, who in (actions or {}).items()}
        read_overrides = {name: frozenset(who) for name, who in (reads or {}).items()}
        self.ids.setdefault(arg, []).append(
            Target(value, frozenset(read), frozenset(write), label, overrides, read_overrides)
        )


@dataclass(frozen=True)
class Target:
    value: Any
    readable_by: frozenset[str]
    writable_by: frozenset[str]
    label: str
    actions: dict[str, frozenset[str]] = field(default_factory=dict)
    reads: dict[str, frozenset[str]] = field(default_factory=dict)

    def may_write(self, persona: str, action: str) -> bool:
        return persona in self.actions.get(action, self.writable_by)

    def may_read(self, persona: str, action: str) -> bool:
        return persona in self.reads.get(action, self.readable_by)

    def __hash__(self) -> int:
        return hash((self.value, self.label))


ALL = frozenset(PERSONAS)
SIGNED_IN = ALL - {"anonymous"}
FACILITATORS = frozenset({"facilitator", "table_facilitator", "admin"})


def build_world(app: Flask) -> World:
    """People for every persona plus a victim, and one object of each kind that exists."""
    world = World()
    with app.app_context():
        home = make_division("sec-home")
        other = make_division("sec-other")
        roles = {
            "citizen": (),
            "facilitator": (Role.FACILITATOR,),
            "table_facilitator": (Role.FACILITATOR,),
            "official": (Role.OFFICIAL,),
            "admin": (Role.ADMIN,),
        }
        for persona, persona_roles in roles.items():
            email = f"sec-{persona.replace('_', '-')}@example.org"
            user = make_user(*persona_roles, email=email, name=f"Sec {persona}", divisions=[home])
            world.emails[persona] = email
            world.user_ids[persona] = user.id
        victim = make_user(email="sec-victim-private@example.org", name="Victim", divisions=[other])
        world.user_ids["victim"] = victim.id
        db.session.commit()
        # A person's email is private: only admins (and the person) ever see it.
        world.secrets["sec-victim-private@example.org"] = {"admin"}
        world.add("user_id", victim.id, read={"admin"}, write={"admin"}, label="another person")
        world.add("division_id", other.id, read={"admin"}, write={"admin"}, label="a division")
        world.add("token", "not-a-valid-token", read=ALL, write=set(), label="forged token")
        for extend in _extensions():
            extend(app, world)
    return world


def _extensions() -> list:
    from tests.security.worlds import WORLD_EXTENSIONS

    return WORLD_EXTENSIONS


def login(client, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def persona_client(app: Flask, world: World, persona: str):
    """A test client logged in as the persona (or anonymous), with a CSRF token for it."""
    client = app.test_client()
    if persona != "anonymous":
        login(client, world.emails[persona])
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    if persona != "anonymous":
        token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    return client, token


# ---------------------------------------------------------------------------------------------
# Routes.


ARG_RE = re.compile(r"<(?:([^:>]+):)?([^>]+)>")


def routes(app: Flask) -> Iterator[Rule]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        yield rule


def required_roles(app: Flask, rule: Rule) -> frozenset[Role] | None:
    return getattr(app.view_functions[rule.endpoint], "required_roles", None)


def persona_roles(persona: str) -> set[Role]:
    return {
        "anonymous": set(),
        "citizen": {Role.CITIZEN},
        "facilitator": {Role.CITIZEN, Role.FACILITATOR},
        "table_facilitator": {Role.CITIZEN, Role.FACILITATOR},
        "official": {Role.CITIZEN, Role.OFFICIAL},
        "admin": {Role.CITIZEN, Role.ADMIN},
    }[persona]


def fallback_values(converter: str | None) -> list[Any]:
    if converter in (None, "string", "path"):
        return ["x"]
    if converter == "int":
        return [1, 2**31 - 1]
    return ["1"]


@dataclass
class Filled:
    url: str
    targets: list[Target]

    def readable_by(self, persona: str, action: str = "") -> bool:
        return all(t.may_read(persona, action) for t in self.targets)

    def writable_by(self, persona: str, action: str) -> bool:
        return all(t.may_write(persona, action) for t in self.targets)

    @property
    def label(self) -> str:
        return ", ".join(t.label for t in self.targets) or "no object"


def fillings(rule: Rule, world: World) -> list[Filled]:
    """Every combination of world objects for the rule's arguments (one per argument kind)."""
    combos: list[Filled] = [Filled(rule.rule, [])]
    for converter, name in ARG_RE.findall(rule.rule):
        candidates = world.ids.get(name) or [
            Target(v, ALL, frozenset(), f"{name}={v} (unknown)")
            for v in fallback_values(converter or None)
        ]
        pattern = re.compile(r"<(?:[^:>]+:)?" + re.escape(name) + ">")
        combos = [
            Filled(pattern.sub(str(c.value), f.url, count=1), [*f.targets, c])
            for f in combos
            for c in candidates
        ]
    return combos


def is_login_redirect(response) -> bool:
    return response.status_code in (301, 302, 303) and "/login" in response.headers.get(
        "Location", ""
    )


# ---------------------------------------------------------------------------------------------
# Socket events: the documented catalogue and the registered handlers.


NAMESPACE_HEADING = re.compile(r"^##\s+Namespace\s+`(/[^`]*)`", re.M)
EVENT_ROW = re.compile(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|\s*((?:[^|\\]|\\.)*)\|", re.M)
#: The other documented form: **`event`** `{"key": type}` (optionally followed by text).
EVENT_BOLD = re.compile(r"^\*\*`([a-z_][a-z0-9_]*)`\*\*\s*(`[^`]*`)?(.*)$", re.M)
#: A third form: `{session_id, text ≤ 500, table_id?}` (bare keys, optional ones with "?").
BARE_PAYLOAD = re.compile(r"`\{([^`]*)\}`")


def _bare_keys(inner: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    depth = 0
    piece = ""
    for char in inner + ",":
        depth += char == "{"
        depth -= char == "}"
        if char == "," and depth == 0:
            match = re.match(r"\s*([a-z_][a-z0-9_]*)\??\s*:?\s*(.*)", piece, re.S)
            if match:
                declared = match.group(2).strip()
                keys[match.group(1)] = declared or (
                    "int" if match.group(1).endswith("_id") else "str"
                )
            piece = ""
        else:
            piece += char
    return keys


PAYLOAD_KEY = re.compile(r'"([a-z_][a-z0-9_]*)"\s*:\s*([^,}]+)')


@dataclass
class DocumentedEvent:
    namespace: str
    name: str
    payload: dict[str, str]  # key -> declared type text
    #: The docs mark events reserved to facilitators (or lead/table facilitators, admins).
    facilitator_only: bool = False


def realtime_docs() -> str:
    """docs/realtime.md, plus any per-feature fragments not yet assembled into it."""
    parts = []
    main = PROJECT_ROOT / "docs" / "realtime.md"
    if main.exists():
        parts.append(main.read_text())
    fragments = PROJECT_ROOT / "docs" / "realtime"
    if fragments.is_dir():
        parts.extend(p.read_text() for p in sorted(fragments.glob("*.md")))
    return "\n\n".join(parts)


def documented_client_events() -> dict[str, dict[str, DocumentedEvent]]:
    """namespace -> event name -> documented payload, from the "Client → server" tables."""
    text_ = realtime_docs()
    result: dict[str, dict[str, DocumentedEvent]] = {}
    headings = list(NAMESPACE_HEADING.finditer(text_))
    for index, heading in enumerate(headings):
        namespace = heading.group(1)
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text_)
        section = text_[heading.end() : end]
        result.setdefault(namespace, {})
        # Only client-to-server tables: cut at the "Server → client" heading if there is one.
        for block in re.split(r"^###+\s+", section, flags=re.M):
            title = block.splitlines()[0].lower() if block else ""
            if "server → client" in title or "server -> client" in title:
                continue
            rows = [(m.group(1), m.group(2), m.group(2)) for m in EVENT_ROW.finditer(block)]
            rows += [
                (m.group(1), m.group(2) or "", (m.group(2) or "") + m.group(3))
                for m in EVENT_BOLD.finditer(block)
            ]
            for name, payload_cell, described in rows:
                payload = {k: v.strip() for k, v in PAYLOAD_KEY.findall(payload_cell)}
                if not payload and (bare := BARE_PAYLOAD.search(payload_cell)):
                    payload = _bare_keys(bare.group(1))
                # Marked like "(facilitator/admin)" or "(facilitators only)" in the docs.
                restricted = re.search(r"\(facilitators?\b", described.lower()) is not None
                result[namespace][name] = DocumentedEvent(namespace, name, payload, restricted)
    return result


def registered_handlers() -> dict[str, set[str]]:
    """namespace -> events handled by its Namespace class (``on_<event>`` methods)."""
    handlers: dict[str, set[str]] = {}
    for namespace, handler in socketio.server.namespace_handlers.items():
        names = {
            attr.removeprefix("on_")
            for attr in dir(handler)
            if attr.startswith("on_") and callable(getattr(handler, attr))
        }
        handlers[namespace] = names - {"connect", "disconnect"}
    return handlers
