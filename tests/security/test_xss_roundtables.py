"""The XSS corpus over roundtable sessions, in real Chromium with the real CSP.

Every payload goes, through the roundtable services, into every field people write at a
roundtable: session title and briefing, table chat, ideas, theme names and descriptions, poll
questions and options, the names of the people at a table; and, over real Socket.IO events
while the pages are open, into the lead's broadcasts (each sent under a lead renamed to a
payload) and live polls. The participant room, lead console, theme team page and projector
render what arrives over Socket.IO (snapshots and live events) in the browser; the session
pages, the public results and the agenda items made from passing themes are rendered by the
server. The detector is the one of test_xss_browser.py (tests/security/xss.py).

Payloads are packed many to a page: 137 people named after the payloads sit twenty to a table
(the first of each twenty its one table facilitator), each posting their payload as a chat
message and having it recorded as an idea, so one room load shows a
table's twenty; 137 themes and an agree/disagree poll over them show on every live page at
once; single-valued fields (session titles and briefings, poll questions, adopted themes) hold
as many marked payloads ("q12:") as fit and still show once stored; broadcasts go one payload
each. Every page is checked to show the markers it should, so an empty page cannot pass.
"""

import functools
import math
import os
import re
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
import socketio as socketio_client
from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.accounts.services import update_profile
from deliberation.core.sanitize import markdown_literal, plain_text, render_markdown
from deliberation.extensions import db
from deliberation.roundtables import polls, sessions, themes
from deliberation.roundtables.models import (
    Idea,
    Participant,
    ParticipantRole,
    Phase,
    PollKind,
    RoundtableTable,
)
from deliberation.roundtables.rooms import NAMESPACE
from deliberation.roundtables.tables import add_idea, send_chat, submit_ideas
from tests.browser.conftest import browser_login
from tests.conftest import login_cookie
from tests.factories import PASSWORD, make_division, make_user
from tests.security.xss import HOOKS, PAYLOADS, check_page, marker, packed_payloads, problems_now

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

N = len(PAYLOADS)
PER_TABLE = 20  # a table records at most 20 ideas a round
TABLES = math.ceil(N / PER_TABLE)
MAX_OPTIONS = polls.MAX_POLL_OPTIONS
LIST_PAGE = 20  # sessions on a page of the list (queries.sessions_page)


def stored(text: str) -> str:
    """What the roundtable services keep of a text (titles, chat, ideas, themes, polls)."""
    return plain_text(text).strip()


TITLES = packed_payloads(200, stored, "s")
QUESTIONS = packed_payloads(300, stored, "q", sent_limit=300)  # sent over the socket
ADOPTED_NAMES = packed_payloads(themes.THEME_NAME_MAX, stored, "n")


def seen_in_markdown(text: str) -> str:
    """The text a reader sees of a text rendered as Markdown (tags and attributes out)."""
    return re.sub(r"<[^>]*>", "", str(render_markdown(text)))


# Briefings (Markdown as written) are packed so that every payload still shows once rendered:
# a link, image or foreign element spanning lines would otherwise swallow the next payloads.
# Agenda item bodies hold the stored text written into Markdown literally (markdown_literal).
BRIEFINGS = packed_payloads(10**6, str, "r", "\n\n", shown=seen_in_markdown)
ADOPTED_DESCRIPTIONS = packed_payloads(
    themes.THEME_DESCRIPTION_MAX,
    stored,
    "a",
    "\n",
    shown=lambda t: seen_in_markdown(markdown_literal(stored(t))),
)


@functools.cache
def option_sets() -> list[list[str]]:
    """Every payload as a poll option label, spread over the question polls (2–20 each)."""
    labels = [f"{marker('o', i)} {p}" for i, p in enumerate(PAYLOADS)]
    polls = max(len(QUESTIONS), math.ceil(N / MAX_OPTIONS))
    sets = [labels[j::polls] for j in range(polls)]
    return [s + [f"extra {j}"] if len(s) < 2 else s for j, s in enumerate(sets)]


def briefing_of(j: int) -> str:
    """Session j's briefing: the j-th packed text (sessions outnumber them)."""
    assert len(BRIEFINGS) <= len(TITLES)
    return BRIEFINGS[j][1] if j < len(BRIEFINGS) else ""


def question_polls() -> list[tuple[str, list[str]]]:
    return [
        (QUESTIONS[j][1] if j < len(QUESTIONS) else f"Question {j}", options)
        for j, options in enumerate(option_sets())
    ]


def run_to_synthesis(lead, division, title, briefing, authors, fillers, viewer=None):
    """A running session at seven tables of six; the payload-named table facilitators sit
    twenty to a table and each posts their payload as a chat message and as an idea, which the
    tables submit; the session ends in theme synthesis. Returns it, its tables and the seats."""
    session = sessions.create_session(
        lead,
        division=division,
        title=title,
        briefing=briefing,
        table_size=6,
        ideas_per_round=PER_TABLE,
        threshold_percent=50,
    )
    sessions.open_lobby(lead, session)
    for person in fillers:
        sessions.register(session, person)
    # A table has one facilitator: the first author of each twenty leads that table (and
    # records the twenty ideas); the others sit there as participants, placed past the
    # services (twenty is over the table size of six), as is the viewer.
    leaders = {
        i: sessions.register(session, a, ParticipantRole.TABLE_FACILITATOR)
        for i, a in enumerate(authors)
        if i % PER_TABLE == 0
    }
    sessions.seat_room(lead, session)
    tables = list(
        db.session.scalars(
            select(RoundtableTable)
            .where(RoundtableTable.session_id == session.id)
            .order_by(RoundtableTable.number)
        )
    )
    assert len(tables) == TABLES
    seats = []
    for i, author in enumerate(authors):
        seat = leaders.get(i) or sessions.register(session, author)
        if i in leaders:
            sessions.move_participant(lead, session, seat, tables[i // PER_TABLE])
        else:
            seat.table_id = tables[i // PER_TABLE].id
        seats.append(seat)
    if viewer is not None:
        sessions.register(session, viewer).table_id = tables[0].id
    db.session.flush()
    sessions.start_session(lead, session)
    sessions.set_phase(lead, session, Phase.DISCUSSION)
    for i, (seat, payload) in enumerate(zip(seats, PAYLOADS, strict=True)):
        send_chat(session, seat, f"{marker('c', i)} {payload}", uuid.uuid4().hex)
        leader = seats[i // PER_TABLE * PER_TABLE]
        add_idea(session, leader, seat.table_id, f"{marker('i', i)} {payload}", uuid.uuid4().hex)
    sessions.set_phase(lead, session, Phase.SUBMISSIONS)
    for k, table in enumerate(tables):
        submit_ideas(session, seats[k * PER_TABLE], table.id)
    sessions.set_phase(lead, session, Phase.SYNTHESIS)
    for i, payload in enumerate(PAYLOADS):
        themes.create_theme(
            lead, session, None, f"{marker('t', i)} {payload}", f"{marker('d', i)} {payload}", []
        )
    db.session.flush()
    return session, tables, seats


def seed(app) -> dict:
    """Session A stays open for the live pages (room, console, theme team, projector); session
    B is closed with its passing themes adopted as agenda items; the other sessions carry the
    rest of the titles."""
    with app.app_context():
        division = make_division("rt-xss")
        admin = make_user(Role.ADMIN, email="rt-xss-admin@example.org", name="RT admin")
        lead = make_user(Role.FACILITATOR, email="rt-xss-lead@example.org", name="RT lead")
        viewer = make_user(Role.FACILITATOR, email="rt-xss-viewer@example.org", name="Viewer")
        authors = [
            make_user(Role.FACILITATOR, email=f"rt-xss{i}@example.org", name=p, commit=False)
            for i, p in enumerate(PAYLOADS)
        ]
        fillers = [
            make_user(email=f"rt-xss-seat{i}@example.org", commit=False) for i in range(6 * TABLES)
        ]

        # A: live, in the room poll phase with an agree/disagree poll over every theme.
        live, live_tables, _ = run_to_synthesis(
            lead, division, TITLES[0][1], briefing_of(0), authors, fillers, viewer
        )
        themes.publish_themes(lead, live, None)
        sessions.set_phase(lead, live, Phase.POLL)
        agree_poll = polls.open_poll(lead, live, PollKind.AGREE, "Which themes matter?")

        # B: closed. A theme per packed name passes (names, descriptions and the first seven
        # tables' ideas make up the agenda items); every question poll is on the record.
        closed, closed_tables, _ = run_to_synthesis(
            lead, division, TITLES[1][1], briefing_of(1), authors, fillers
        )
        passing_ids = set()
        for k, (_indexes, name) in enumerate(ADOPTED_NAMES):
            description = ADOPTED_DESCRIPTIONS[k][1] if k < len(ADOPTED_DESCRIPTIONS) else ""
            ideas = (
                db.session.scalars(select(Idea.id).where(Idea.table_id == closed_tables[k].id))
                if k < len(closed_tables)
                else []
            )
            theme = themes.create_theme(lead, closed, None, name, description, list(ideas))
            passing_ids.add(theme["id"])
        themes.publish_themes(lead, closed, None)
        sessions.set_phase(lead, closed, Phase.POLL)
        poll = polls.open_poll(lead, closed, PollKind.AGREE, "Which themes matter?")
        voter = db.session.scalar(
            select(Participant).where(
                Participant.session_id == closed.id,
                Participant.role == ParticipantRole.PARTICIPANT,
            )
        )
        stances = {
            str(o.id): "agree" if o.theme_id in passing_ids else "disagree" for o in poll.options
        }
        polls.cast_poll_vote(
            polls.get_poll_for_vote(closed.id, poll.id),
            voter,
            uuid.uuid4().hex,
            stances=stances,
        )
        polls.close_poll(lead, poll)
        for question, options in question_polls():
            polls.close_poll(
                lead, polls.open_poll(lead, closed, PollKind.QUESTION, question, options)
            )
        adopted = sessions.close_session(lead, closed).items  # the session makes agenda items
        assert len(adopted) == len(ADOPTED_NAMES)

        others = [
            sessions.create_session(lead, division=division, title=title, briefing=briefing_of(j))
            for j, (_indexes, title) in enumerate(TITLES[2:], start=2)
        ]
        db.session.commit()
        return {
            "admin": admin.email,
            "lead": lead.email,
            "lead_id": lead.id,
            "viewer_id": viewer.id,
            "viewer": viewer.email,
            "live": live.id,
            "token": live.projector_token,
            "agree_poll": agree_poll.id,
            "tables": [t.id for t in live_tables],
            "closed": closed.id,
            "others": [s.id for s in others],
            "adopted": [item.id for item in adopted],
        }


ALL_COUNTED = """(want) => Object.entries(want).every(
  ([selector, n]) => document.querySelectorAll(selector).length === n)"""
TEXT_IS = """([selector, text]) => {
  const node = document.querySelector(selector);
  return node !== null && node.textContent === text;
}"""
# Folded panels (the room's "More") are opened first, as a reader would, so their text counts.
MISSING = """(markers) => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const text = document.body.innerText;
  return markers.filter((m) => !text.includes(m));
}"""


def markers(prefix: str, indexes) -> list[str]:
    return [marker(prefix, i) for i in indexes]


class Run:
    """The browser side: pages, what each showed (payload renderings per field) and problems."""

    def __init__(self, browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.contexts = []
        self.dialogs: list[str] = []
        self.failures: list[str] = []
        self.renderings: Counter = Counter()  # (field, page) -> payload renderings
        self.loads: Counter = Counter()  # page -> loads

    def page(self, email: str | None = None):
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        context.add_init_script(HOOKS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        if email:
            browser_login(page, self.base, email, PASSWORD)
        return page

    def another_tab(self, page):
        tab = page.context.new_page()
        tab.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        return tab

    def open_live(self, page, name: str, path: str, counts: dict[str, int]) -> None:
        """Load a live page and wait until its snapshot (over Socket.IO) is rendered."""
        page.goto(self.base + path, wait_until="load")
        page.wait_for_function(ALL_COUNTED, arg=counts)
        self.loads[name] += 1

    def load(self, page, name: str, path: str) -> None:
        """Load a server-rendered page and check it."""
        self.check(page, name, check_page(page, self.base + path))
        self.loads[name] += 1

    def check(self, page, name: str, problems: list[str] | None = None) -> None:
        problems = problems_now(page) if problems is None else problems
        if problems:
            self.failures.append(f"{name} {page.url}: {problems}")

    def shown(self, page, name: str, shown: dict[str, list[str]]) -> None:
        """Count what the page shows, field by field, after checking every marker is there."""
        for field, expected in shown.items():
            missing = page.evaluate(MISSING, expected)
            assert missing == [], f"{name}: {field} not shown: {missing[:5]}"
            self.renderings[(field, name)] += len(expected)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def lead_sockets(base: str, email: str, session_id: int, count: int) -> list:
    """The lead's own Socket.IO clients (each socket has its own event budget)."""
    cookie = login_cookie(base, email)
    sockets = []
    for _ in range(count):
        client = socketio_client.Client(reconnection=False)
        client.connect(
            base, headers={"Cookie": cookie}, transports=["websocket"], namespaces=[NAMESPACE]
        )
        ack = client.call("join", {"session_id": session_id}, namespace=NAMESPACE, timeout=10)
        assert ack["ok"], ack
        sockets.append(client)
    return sockets


def test_no_payload_executes_at_a_roundtable(app, live_server, browser, capsys):
    assert N >= 100 or "XSS_PAYLOAD_LIMIT" in os.environ
    started = time.monotonic()
    ids = seed(app)
    seeded_s = time.monotonic() - started
    run = Run(browser, live_server.url)
    closers: list[threading.Thread] = []
    live, everyone = ids["live"], range(N)
    title = markers("s", TITLES[0][0])
    try:
        admin = run.page(ids["admin"])
        viewer = run.page(ids["viewer"])
        projector = run.page()

        # The lead console, theme team page and projector stay open through the live part.
        console = admin
        run.open_live(
            console,
            "console",
            f"/roundtables/{live}/console",
            {"#rt-tables tr": TABLES, "#rt-poll fieldset": N},
        )
        run.check(console, "console")
        run.shown(
            console, "console", {"session title": title, "theme name": markers("t", everyone)}
        )
        # Every table's facilitator by name (names carry no marker: compare the text).
        facilitators = " ".join(
            console.eval_on_selector_all(
                "#rt-tables td.rt-cell-facilitator", "(nodes) => nodes.map((n) => n.textContent)"
            )
        )
        leading = PAYLOADS[::PER_TABLE]  # the first author of each twenty leads the table
        assert [p for p in leading if p.strip() not in facilitators] == []
        run.renderings[("display name", "console")] += len(leading)
        themes = run.another_tab(admin)
        run.open_live(
            themes,
            "theme team",
            f"/roundtables/{live}/themes",
            {"#rt-incoming li": N, "#rt-theme-list > li": N},
        )
        run.check(themes, "theme team")
        run.shown(
            themes,
            "theme team",
            {
                "session title": title,
                "idea": markers("i", everyone),
                "theme name": markers("t", everyone),
            },
        )
        run.open_live(
            projector, "projector", f"/roundtables/projector/{ids['token']}", {"#rt-results li": N}
        )
        run.check(projector, "projector")
        run.shown(
            projector, "projector", {"session title": title, "theme name": markers("t", everyone)}
        )

        # The participant room, table by table: the viewer is moved and reloads.
        for k, table_id in enumerate(ids["tables"]):
            at_table = range(k * PER_TABLE, min(N, (k + 1) * PER_TABLE))
            if k:  # past the services: the table holds twenty, over its size of six
                with app.app_context():
                    sessions.find_participant(live, ids["viewer_id"]).table_id = table_id
                    db.session.commit()
            run.open_live(
                viewer,
                "room",
                f"/roundtables/{live}/room",
                {
                    "#rt-chat li": len(at_table),
                    "#rt-ideas li": len(at_table),
                    "#rt-themes li": N,
                    "#rt-poll fieldset": N,
                },
            )
            run.check(viewer, "room")
            run.shown(
                viewer,
                "room",
                {
                    "session title": title,
                    "chat message": markers("c", at_table),
                    "idea": markers("i", at_table),
                    "theme name": markers("t", everyone) * 2,
                    "theme description": markers("d", everyone),
                },
            )
            # The authors' names sit next to their messages (as text, so no marker: count them).
            authors = viewer.eval_on_selector_all(
                "#rt-chat li strong", "(nodes) => nodes.map((n) => n.textContent)"
            )
            assert authors == [f"{PAYLOADS[i].strip()}: " for i in at_table]
            run.renderings[("display name", "room")] += len(authors)

        # Live: the lead broadcasts every payload, renamed to a payload before each message,
        # then runs the question polls; room, console and projector render them as they come.
        sockets = lead_sockets(live_server.url, ids["lead"], live, 5)
        sent = 0

        def send(event: str, data: dict) -> dict:
            nonlocal sent
            ack = sockets[sent % len(sockets)].call(
                event, {"session_id": live, **data}, namespace=NAMESPACE, timeout=10
            )
            sent += 1
            assert ack["ok"], (event, ack)
            return ack

        with app.app_context():
            lead = db.session.get(User, ids["lead_id"])
            for i, payload in enumerate(PAYLOADS):
                update_profile(
                    lead,
                    display_name=payload,
                    preferred_language=lead.preferred_language,
                    large_text=lead.large_text,
                )
                db.session.commit()
                last = send("broadcast", {"text": f"{marker('b', i)} {payload}"})["message"]
                assert last["author"] == payload.strip()  # the new name is what went out
            send("poll_close", {"poll_id": ids["agree_poll"]})
            for question, options in question_polls():
                poll = send(
                    "poll_open", {"kind": "question", "question": question, "options": options}
                )["poll"]
                send("poll_close", {"poll_id": poll["id"]})
        viewer.wait_for_function(
            TEXT_IS, arg=["#rt-broadcast", f"{last['author']}: {last['body']}"]
        )
        for page, selector in (
            (viewer, "#rt-poll legend"),
            (console, "#rt-poll legend"),
            (projector, "#rt-question"),
        ):
            page.wait_for_function(TEXT_IS, arg=[selector, poll["question"]])
        for name, page in (("room", viewer), ("console", console), ("projector", projector)):
            run.check(page, name)
            run.renderings[("poll question", name)] += N
            run.renderings[("poll option", name)] += N
        run.renderings[("broadcast", "room")] += N
        run.renderings[("display name", "room")] += N  # the broadcasts' author
        run.check(themes, "theme team")
        # A client's disconnect waits for the server's goodbye (seconds): close them all at
        # once, in the background, while the server-rendered pages are checked.
        closers = [threading.Thread(target=client.disconnect, daemon=True) for client in sockets]
        for closer in closers:
            closer.start()

        # Server-rendered: the public results of the closed session, the agenda items made
        # from its passing themes, every session's page and the list of sessions.
        closed = ids["closed"]
        page = run.another_tab(admin)
        run.load(page, "results", f"/roundtables/{closed}/results")
        run.shown(
            page,
            "results",
            {
                "session title": markers("s", TITLES[1][0]),
                "theme name": (markers("t", everyone) + markers("n", everyone)) * 2,
                "idea": markers("i", everyone),
                "poll question": markers("q", everyone),
                "poll option": markers("o", everyone),
            },
        )
        for k, item_id in enumerate(ids["adopted"]):
            run.load(page, "agenda item from a theme", f"/agendas/{item_id}")
            shown = {
                "theme name": markers("n", ADOPTED_NAMES[k][0]),
                "session title": markers("s", TITLES[1][0]),
            }
            if k < len(ADOPTED_DESCRIPTIONS):
                shown["theme description"] = markers("a", ADOPTED_DESCRIPTIONS[k][0])
            if k < TABLES:
                shown["idea"] = markers("i", range(k * PER_TABLE, min(N, (k + 1) * PER_TABLE)))
            run.shown(page, "agenda item from a theme", shown)
        session_ids = [live, closed, *ids["others"]]
        for j, session_id in enumerate(session_ids):
            run.load(page, "session page", f"/roundtables/{session_id}")
            shown = {"session title": markers("s", TITLES[j][0])}
            if j < len(BRIEFINGS):
                shown["session briefing"] = markers("r", BRIEFINGS[j][0])
            run.shown(page, "session page", shown)
        # The list, page by page (titles are kept as typed, tags and all: they take more
        # sessions than one page of the list holds).
        listed = ""
        for number in range(1, math.ceil(len(session_ids) / LIST_PAGE) + 1):
            run.load(page, "sessions list", f"/roundtables/?page={number}")
            listed += page.evaluate("document.body.innerText")
        assert [m for m in markers("s", everyone) if m not in listed] == []
        run.renderings[("session title", "sessions list")] += N
    finally:
        for closer in closers:
            closer.join(10)
        run.close()

    fields = {field for field, _page in run.renderings}
    pages = {page for _field, page in run.renderings}
    executed = len(run.dialogs) + sum(1 for f in run.failures if "script executed" in f)
    with capsys.disabled():
        print(
            f"\n[xss-roundtables] {N} payloads × {len(fields)} fields × {len(pages)} pages: "
            f"{sum(run.renderings.values())} payload renderings on {sum(run.loads.values())} "
            f"page loads ({', '.join(f'{p} {n}' for p, n in sorted(run.loads.items()))}); "
            f"{sent} live events; executed: {executed}; pages with problems: "
            f"{len(run.failures)}; seed {seeded_s:.0f} s, total {time.monotonic() - started:.0f} s"
        )
        for field in sorted(fields):
            per_page = {p: n for (f, p), n in run.renderings.items() if f == field}
            print(f"  {field}: {per_page}")
    assert run.dialogs == []
    assert run.failures == [], "\n".join(run.failures)
    assert requests.get(live_server.url + "/healthz", timeout=5).status_code == 200
