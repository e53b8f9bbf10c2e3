"""XSS corpus in real Chromium: every payload in data/xss_payloads.txt is written into every
user-writable field and every page that shows that field is rendered, with the real CSP.

The detector (tests/security/xss.py) fails a page if any script ran, if the CSP had to block
anything, if the DOM holds active content no template writes, or if a template expression was
evaluated server-side. Roundtable fields and pages: test_xss_roundtables.py.
"""

import csv
import io
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from deliberation.accounts.models import Role, User
from deliberation.accounts.services import save_division
from deliberation.agendas import services as agendas
from deliberation.agendas.models import AgendaItem
from deliberation.agendas.services import ITEM_BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from deliberation.core.sanitize import plain_text, render_markdown
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals import services as proposals
from deliberation.proposals.models import ProposalState
from deliberation.summaries.polis_files import read_polis_export
from deliberation.summaries.services import import_polis_export, refresh_summary
from deliberation.voting import services as voting
from deliberation.voting.services import MAX_OPTION_LENGTH
from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, make_division, make_user
from tests.security.xss import CHECK, HOOKS, PAYLOADS, check_page, packed_payloads

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def seen_in_markdown(text: str) -> str:
    """The text a reader sees of a text rendered as Markdown (tags and attributes out)."""
    return re.sub(r"<[^>]*>", "", str(render_markdown(text)))


DIVISION_NAME_MAX, DIVISION_DESCRIPTION_MAX = 120, 2000  # DivisionForm (and the columns)
DIVISION_NAMES = packed_payloads(DIVISION_NAME_MAX, str.strip, "v")
DIVISION_TEXTS = packed_payloads(DIVISION_DESCRIPTION_MAX, str.strip, "w")
ITEM_TITLES = packed_payloads(TITLE_MAX_LENGTH, lambda t: plain_text(t).strip(), "t")
ITEM_BODIES = packed_payloads(ITEM_BODY_MAX_LENGTH, str.strip, "b", "\n\n", shown=seen_in_markdown)


@dataclass
class Sink:
    """A user-writable field and the pages that show it: (url, how many payloads it shows)."""

    field: str
    pages: list[tuple[str, int]] = field(default_factory=list)


def import_polis(folder: Path, admin_id: int) -> int:
    """A Pol.is export whose every comment is a payload, imported as an agenda item."""
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(
        [
            "timestamp",
            "datetime",
            "comment-id",
            "author-id",
            "agrees",
            "disagrees",
            "moderated",
            "comment-body",
        ]
    )
    for i, payload in enumerate(PAYLOADS):
        writer.writerow([1000 + i, "Mon", i, 10 + i % 7, 1, 1, 1, f"p{i} {payload}"])
    votes = io.StringIO()
    vote_writer = csv.writer(votes, lineterminator="\n")
    vote_writer.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
    for i in range(len(PAYLOADS)):
        for voter in range(10, 17):
            vote_writer.writerow([2000 + i, "Mon", i, voter, 1 if (i + voter) % 2 else -1])
    folder.mkdir(exist_ok=True)
    (folder / "comments.csv").write_text(rows.getvalue(), encoding="utf-8")
    (folder / "votes.csv").write_text(votes.getvalue(), encoding="utf-8")
    item, _created = import_polis_export(
        read_polis_export(folder), division_slug="xss-home", actor_id=admin_id
    )
    db.session.commit()
    refresh_summary(item.id)
    db.session.commit()
    return item.id


def ballots_and_proposals(admin_id: int, thread_items: list[int]) -> tuple[list, list]:
    """Ballot option labels, official responses and progress reports, ten payloads apiece:
    ballot k offers options 10k..10k+9 (closed, so its receipts list shows them); proposal k's
    response is payload 10k and its progress reports the other nine (followers are notified)."""
    admin = db.session.get(User, admin_id)
    now = utcnow()
    ballot_ids, proposal_ids = [], []
    for k, item_id in enumerate(thread_items):
        chunk = list(enumerate(PAYLOADS))[k * 10 : (k + 1) * 10]
        labels = [f"o{i} {payload}"[:MAX_OPTION_LENGTH] for i, payload in chunk]
        if len(labels) < 2:
            labels.append("o-extra")
        ballot = voting.open_ballot(
            admin,
            db.session.get(AgendaItem, item_id),
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(days=1),
            custom_options=labels,
        )
        voting.cast_vote(ballot.id, admin, ballot.option_keys[-1], uuid.uuid4().hex)
        voting.close_ballot(ballot, admin)
        ballot_ids.append(ballot.id)
        first_index, first = chunk[0]
        proposal = proposals.create_proposal(
            title=f"P{k} {first}",
            summary=first,
            snapshot={},
            follower_ids={admin_id},
        )
        proposals.start_review(admin, proposal)
        proposals.respond(admin, proposal, ProposalState.ACCEPTED, f"r{first_index} {first}")
        for n, (i, payload) in enumerate(chunk[1:]):
            advance = ProposalState.IN_PROGRESS if n == 0 else None
            proposals.post_progress(admin, proposal, f"g{i} {payload}", advance_to=advance)
        proposal_ids.append(proposal.id)
        db.session.commit()
    return ballot_ids, proposal_ids


def seed(app, tmp_path: Path) -> tuple[list[Sink], dict]:
    """Write every payload into every user-writable field through the real services.

    Payload i goes into person i's name, comment i's body, hidden comment i's public reason and
    flag i's reason. Comments sit ten visible and ten hidden to a thread item, so one page load
    shows twenty payloads. Division names and descriptions, item titles and bodies hold as many
    marked payloads as fit and still show once stored (tests/security/xss.py), so a division's
    or an item's own page shows many at once (with the full corpus, 62 divisions hold the
    division names and the 14 thread items the item titles and bodies).
    """
    n = len(PAYLOADS)
    sinks: dict[str, Sink] = {}

    def sink(name: str) -> Sink:
        return sinks.setdefault(name, Sink(name))

    with app.app_context():
        admin = make_user(Role.ADMIN, email="xss-admin@example.org", name="XSS admin")
        home = make_division("xss-home")
        people = [
            make_user(email=f"xss{i}@example.org", name=payload, commit=False)
            for i, payload in enumerate(PAYLOADS)
        ]
        divisions = []
        for j, (_indexes, name) in enumerate(DIVISION_NAMES):
            description = DIVISION_TEXTS[j][1] if j < len(DIVISION_TEXTS) else ""
            divisions.append(
                save_division(
                    admin, slug=f"xss-{j}", name_en=name, name_ko=name, description=description
                ).id
            )
        thread_items = []
        for j in range(max(len(ITEM_TITLES), math.ceil(n / 10))):
            item = agendas.propose_item(
                people[j],
                division_id=divisions[j % len(divisions)],
                title=ITEM_TITLES[j][1] if j < len(ITEM_TITLES) else f"Thread {j}",
                body=ITEM_BODIES[j][1] if j < len(ITEM_BODIES) else "",
            )
            agendas.start_discussion(admin, item.id)
            thread_items.append(item.id)
        db.session.flush()
        magnet, _ = agendas.post_comment(admin, thread_items[0], "\n\n".join(PAYLOADS))
        for i, payload in enumerate(PAYLOADS):
            thread_item = thread_items[i // 10]
            comment, _ = agendas.post_comment(people[i], thread_item, f"c{i} {payload}")
            gone, _ = agendas.post_comment(people[i], thread_item, "to be hidden")
            db.session.flush()
            agendas.hide_comment(admin, gone.id, f"h{i} {payload}")
            agendas.flag_comment(people[i - 1], comment.id, f"f{i} {payload}")
            agendas.flag_comment(people[i], magnet.id, f"m{i} {payload}")
        make_user(email="xss-home@example.org", divisions=[home])
        db.session.commit()
        admin_id, person_ids, magnet_id = admin.id, [p.id for p in people], magnet.id
        polis_item = import_polis(tmp_path, admin_id)
        # The items that hold ten comments each (the other items only carry titles and bodies).
        commented = thread_items[: math.ceil(n / 10)]
        ballot_ids, proposal_ids = ballots_and_proposals(admin_id, commented)

    def pages_of(path: str, per_page: int, first: int = 0) -> list[tuple[str, int]]:
        count = math.ceil((n + first) / per_page)
        return [(f"{path}?page={p}", per_page) for p in range(1, count + 1)]

    users = sink("display name")
    users.pages += pages_of("/admin/users", 50, first=2)
    # The admin's page of one person shows the name in the same (text) context as the list and
    # the threads; a sample of them keeps that template covered without 137 more page loads.
    users.pages += [(f"/admin/users/{uid}", 1) for uid in person_ids[::10]]
    users.pages += [(f"/agendas/{item}", 10) for item in commented]
    for name in ("division name (en)", "division name (ko)", "division description"):
        sink(name).pages += [("/admin/divisions", n)]
    for name in ("division name (en)", "division name (ko)"):
        sink(name).pages += [
            (f"/admin/divisions/{d}", len(DIVISION_NAMES[j][0])) for j, d in enumerate(divisions)
        ]
    sink("division description").pages += [
        (f"/admin/divisions/{divisions[j]}", len(indexes))
        for j, (indexes, _text) in enumerate(DIVISION_TEXTS)
    ]
    sink("division name (en)").pages += [("/participation", n), ("/agendas/", n)]
    sink("item title").pages += [
        (f"/agendas/{thread_items[j]}", len(indexes)) for j, (indexes, _t) in enumerate(ITEM_TITLES)
    ]
    sink("item title").pages += [("/agendas/", n)]  # every item on the first page
    sink("item body").pages += [
        (f"/agendas/{thread_items[j]}", len(indexes)) for j, (indexes, _b) in enumerate(ITEM_BODIES)
    ]
    comments = sink("comment body")
    comments.pages += [(f"/agendas/{item}", 10) for item in commented]
    comments.pages += [(f"/agendas/comments/{magnet_id}/reply", n)]
    comments.pages += [(f"/agendas/comments/{magnet_id}/moderate", n)]
    comments.pages += pages_of("/agendas/moderation", 20)
    sink("flag reason").pages += pages_of("/agendas/moderation", 20)
    sink("flag reason").pages += [(f"/agendas/comments/{magnet_id}/moderate", n)]
    sink("hide reason").pages += [(f"/agendas/{item}", 10) for item in commented]
    sink("audit log details").pages += pages_of("/admin/audit", 50)
    summaries = [f"/summaries/items/{item}" for item in commented]
    comments.pages += [(url, 10) for url in summaries]
    comments.pages += [(url + "/print", 10) for url in summaries[:3]]
    comments.pages += [(url + "/summary.json", 10) for url in summaries[:3]]
    options = sink("ballot option")
    options.pages += [(f"/voting/{b}", 10) for b in ballot_ids]
    options.pages += [(f"/voting/{b}/receipts", 10) for b in ballot_ids]
    options.pages += [(f"/voting/{b}/receipts.json", 10) for b in ballot_ids[:2]]
    options.pages += [("/voting/", 0)]
    answers = sink("official response and progress")
    answers.pages += [(f"/proposals/{p}", 10) for p in proposal_ids]
    answers.pages += [("/proposals/", len(proposal_ids))]
    answers.pages += pages_of("/proposals/notifications", 20)
    polis = sink("Pol.is import")
    polis.pages += [(f"/agendas/{polis_item}", 20)]
    polis.pages += [(f"/summaries/items/{polis_item}", n)]
    polis.pages += [(f"/summaries/items/{polis_item}/print", n)]
    polis.pages += [(f"/summaries/items/{polis_item}/summary.json", n)]
    return list(sinks.values()), {"admin_id": admin_id}


def test_no_payload_executes_anywhere(app, live_server, browser, capsys, tmp_path):
    assert len(PAYLOADS) >= 100 or "XSS_PAYLOAD_LIMIT" in os.environ
    sinks, ids = seed(app, tmp_path / "polis")
    context = browser.new_context()
    context.add_init_script(HOOKS)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    browser_login(page, live_server.url, "xss-admin@example.org", PASSWORD)

    failures: list[str] = []
    started = time.monotonic()
    rendered = 0
    loads = 0
    visited: dict[str, list[str]] = {}
    own_names = 0
    with app.app_context():
        admin = db.session.get(User, ids["admin_id"])

        def check_as(url: str, own_name: str | None) -> list[str]:
            """Load a page; an HTML page first gets the viewer's own name (page header) set to
            `own_name`, so the header context is covered without a page load of its own."""
            nonlocal own_names, loads
            if own_name is not None and not url.endswith((".json", ".csv")):
                admin.display_name = own_name
                db.session.commit()
                own_names += 1
            loads += 1
            return check_page(page, live_server.url + url)

        for sink in sinks:
            for url, shown in sink.pages:
                if url not in visited:
                    visited[url] = check_as(url, PAYLOADS[own_names % len(PAYLOADS)])
                    if visited[url] and len(failures) < 40:
                        failures.append(f"{url}: {visited[url]}")
                rendered += shown
        # Every payload was the own name in the header of at least one page. The profile form
        # (the name in an input's value) is sampled: the same WTForms field rendering shows
        # division names on /admin/divisions/<id> for every payload.
        assert own_names >= len(PAYLOADS)
        rendered += own_names
        for payload in PAYLOADS[::10]:
            if problems := check_as("/profile", payload):
                failures.append(f"/profile with own name {payload!r}: {problems}")
            rendered += 2
        db.session.remove()
    context.close()
    fields = len(sinks) + 1
    executed = len(dialogs) + sum(1 for f in failures if "script executed" in f)
    with capsys.disabled():
        print(
            f"\n[xss] {len(PAYLOADS)} payloads × {fields} fields; {rendered} payload renderings "
            f"on {loads} page loads ({len(visited) + 1} distinct pages); executed: {executed}; "
            f"pages with problems: {len(failures)}; {time.monotonic() - started:.0f} s"
        )
    assert dialogs == []
    assert failures == [], "\n".join(failures)


def test_the_detector_sees_an_injection(browser):
    """The checks above could fail: an unescaped payload on a page without CSP is caught."""
    context = browser.new_context()
    context.add_init_script(HOOKS)
    page = context.new_page()
    page.set_content("<p>ok</p><img src=x onerror=alert(1)><a href='javascript:alert(1)'>x</a>")
    page.wait_for_function("window.__xss > 0")
    result = page.evaluate(CHECK)
    assert result["xss"] >= 1
    assert any("onerror" in b for b in result["bad"])
    assert any("javascript:" in b for b in result["bad"])
    context.close()
