"""A member category with one to four voters in a room poll is never revealed: not in the live
tally the room receives, the session's results page, the item's consensus summary (page,
printable page, JSON, CSV, report), a theme's proposal, nor the summary frozen on the proposal
of an adopted item. Small categories are added up as "other categories" (or, when no split is
safe, not broken down); the overall counts stay exact."""

import csv
import io
import json
import time
from typing import Any

from sqlalchemy import select

from deliberation.accounts.models import MemberCategory, User
from deliberation.agendas.models import AgendaItem
from deliberation.extensions import db
from deliberation.proposals.models import Proposal
from deliberation.roundtables import polls, sessions
from deliberation.roundtables.models import ThemeDestination
from deliberation.voting import services as voting_services
from tests.agendas.helpers import make_item
from tests.factories import make_user
from tests.roundtables.helpers import build_session, cid, emit, joined, received, session_of
from tests.roundtables.results_helpers import run_session
from tests.voting.support import make_ballot, make_crowd

EXPERT, CIVIL = MemberCategory.EXPERT, MemberCategory.CIVIL_SERVANT
CITIZEN, WELFARE = MemberCategory.CITIZEN, MemberCategory.WELFARE_ORGANISATION
#: Person 0 is the only expert, persons 1-3 the only civil servants: 1 + 3 is under the
#: minimum, so the smallest category shown (welfare organisations) joins them as "other".
LONE_EXPERT = [EXPERT] + [CIVIL] * 3 + [CITIZEN] * 10 + [WELFARE] * 6
SMALL = {"expert", "civil_servant"}
SMALL_HEADERS = [
    f'<th scope="{scope}">{label}</th>'
    for scope in ("col", "row")
    for label in ("Expert", "Civil servant", "전문가", "공무원")
]
OTHER_COMBINED = ["welfare_organisation", "expert", "civil_servant"]


def breakdowns(data: Any) -> list[dict]:
    """Every `by_category` anywhere in a JSON document."""
    found = []
    if isinstance(data, dict):
        if isinstance(data.get("by_category"), dict):
            found.append(data["by_category"])
        for value in data.values():
            found += breakdowns(value)
    elif isinstance(data, list):
        for value in data:
            found += breakdowns(value)
    return found


def assert_no_small_category(data: Any) -> int:
    seen = breakdowns(data)
    for by_category in seen:
        assert not SMALL & set(by_category), by_category
    return len(seen)


def section(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start : html.index("</section>", start)]


def assert_no_small_column(html: str) -> None:
    for header in SMALL_HEADERS:
        assert header not in html, header


# --- the live tally -----------------------------------------------------------------------


def test_the_live_tally_carries_no_breakdown_by_category(app):
    """Everyone in the room gets every tally, and no live page shows the breakdown by member
    category (the results page and the officials' summary do, under the small-group rule):
    the lone expert's vote is in no payload of the room, live, at the close or in a snapshot.
    The results page breaks the same poll out with the small-group rule."""
    categories = [EXPERT] + [CIVIL] * 4 + [CITIZEN] * 11
    with app.app_context():
        info = build_session(participants=16, facilitators=1, categories=categories)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    emit(lead, "session_start", {"session_id": sid})
    for phase in ("discussion", "submissions", "synthesis", "poll"):
        emit(lead, "phase_set", {"session_id": sid, "phase": phase})
    question = {"kind": "question", "question": "What now?", "options": ["Yes", "No", "Later"]}
    opened = emit(lead, "poll_open", {"session_id": sid, **question})
    assert opened["ok"], opened
    poll = opened["poll"]
    yes, no, later = (o["id"] for o in poll["options"])
    voters = [joined(app, uid, sid)[0] for uid in info["people"]]
    # the expert alone says "Later"; civil servants say no; citizens yes
    choices = [later] + [no] * 4 + [yes] * 11
    for client, choice in zip(voters, choices, strict=True):
        ack = emit(client, "poll_vote", {"session_id": sid, "poll_id": poll["id"],
                                         "option_id": choice, "client_id": cid()})  # fmt: skip
        assert ack["ok"], ack
    deadline, final = time.monotonic() + 5, None
    while time.monotonic() < deadline and final is None:
        seen = [e["args"][0] for e in received(voters[-1], "poll_tally")]
        final = next((t for t in reversed(seen) if t["total"] == 16), None)
        time.sleep(0.05)
    assert final is not None
    live_tallies = seen
    assert final["counts"] == {str(yes): 11, str(no): 4, str(later): 1}  # overall: exact
    assert set(final) == set(polls.LIVE_TALLY_FIELDS)
    closed = emit(lead, "poll_close", {"session_id": sid, "poll_id": poll["id"]})
    assert closed["ok"] and closed["tally"]["counts"] == final["counts"]
    assert set(closed["tally"]) == set(polls.LIVE_TALLY_FIELDS)
    with app.app_context():
        whole = polls.poll_tally(polls.get_poll(session_of(sid), poll["id"]))
    assert whole["by_category"] == {
        "citizen": {str(yes): 11, str(no): 0, str(later): 0},
        "other": {str(yes): 0, str(no): 4, str(later): 1},
    }
    assert whole["small_groups"] == {"minimum": 5, "combined": ["expert", "civil_servant"],
                                     "withheld": False}  # fmt: skip
    closed_events = [e["args"][0] for e in received(voters[0], "poll_closed")]
    late, _ = joined(app, info["people"][0], sid)
    snapshot = emit(late, "snapshot", {"session_id": sid})["snapshot"]
    payloads = live_tallies + closed_events + [closed, snapshot]
    assert snapshot["poll"]["tally"]["total"] == 16
    assert assert_no_small_category(payloads) == 0  # no breakdown anywhere
    assert [e["tally"]["total"] for e in closed_events] == [16]


# --- everything published after the close ----------------------------------------------


def _adopt(item_id: int) -> Proposal:
    """The item is put to the vote and adopted: its proposal freezes the summary."""
    ballot = make_ballot(db.session.get(AgendaItem, item_id))
    for uid in make_crowd(5):
        voting_services.cast_vote(
            ballot.id, db.session.get(User, uid), "yes", f"small-groups-{uid}"
        )
        db.session.commit()
    voting_services.close_ballot(ballot)
    db.session.commit()
    return db.session.scalar(select(Proposal).where(Proposal.item_id == item_id))


def test_results_summary_exports_and_proposals_never_reveal_a_small_category(app, client, runner):
    with app.app_context():
        item_id = make_item(make_user(), title="Greener streets").id
        # a closed session whose passing theme went to the officials' queue ...
        done = run_session(item_ids=(item_id,), people=20, categories=LONE_EXPERT,
                           destination=ThemeDestination.PROPOSAL)  # fmt: skip
        [theme_proposal] = done["adoption"].proposals
        theme_proposal_id = theme_proposal.id
        # ... and one still running, its second poll open, when the item is adopted
        running = run_session(item_ids=(item_id,), people=20, categories=LONE_EXPERT,
                              close=False)  # fmt: skip
        item_proposal = _adopt(item_id)
        item_proposal_id = item_proposal.id
        frozen = item_proposal.snapshot["consensus"]["roundtables"]
    sid = done["session_id"]

    # summary JSON: exact overall counts, citizens shown, everyone else added up as "other"
    data = client.get(f"/summaries/items/{item_id}/summary.json").get_json()
    first, second = data["roundtables"]
    assert (first["session_id"], second["session_id"]) == (sid, running["session_id"])
    agree, choose = first["polls"]
    assert agree["categories"] == choose["categories"] == ["citizen", "other"]
    assert agree["small_groups"] == {"minimum": 5, "combined": OTHER_COMBINED, "withheld": False}
    # buses by n % 8 (agree 0-2, disagree 3-6, pass 7); citizens are persons 4-13
    buses = agree["options"][1]
    assert buses["all"] == {"agree": 9, "disagree": 9, "pass": 2}
    assert buses["by_category"] == {"citizen": {"agree": 3, "disagree": 6, "pass": 1},
                                    "other": {"agree": 6, "disagree": 3, "pass": 1}}  # fmt: skip
    # choose-one: persons 0-18 vote, parks when n % 8 < 5
    assert [o["all"] for o in choose["options"]] == [13, 6]
    assert [o["by_category"] for o in choose["options"]] == [
        {"citizen": 6, "other": 7}, {"citizen": 4, "other": 2}]  # fmt: skip
    # the running session: its closed poll counted, its open poll listed without figures
    assert [p["state"] for p in second["polls"]] == ["closed", "open"]
    assert second["polls"][1]["total"] is None
    assert [o["all"] for o in second["polls"][1]["options"]] == [None, None]
    assert assert_no_small_category(data) >= 6

    for path, headers in ((f"/summaries/items/{item_id}", {}),
                          (f"/summaries/items/{item_id}/print", {}),
                          (f"/summaries/items/{item_id}", {"Accept-Language": "ko"})):  # fmt: skip
        part = section(client.get(path, headers=headers).text, 'id="roundtables"')
        assert_no_small_column(part)
        assert part.count("<table") == 3  # two closed polls, and the running one's closed poll
        if headers:
            assert '<th scope="col">기타 구분</th>' in part and "합산해서" in part
            assert "투표 진행 중이며, 결과는 마감 후에 보여 줍니다." in part
        else:
            assert '<th scope="col">Other categories</th>' in part
            assert (
                "Other categories (Welfare organisation, Expert, Civil servant) are added up"
                in part
            )
            assert "poll still open; its results are shown once it closes." in part

    download = client.get(f"/summaries/items/{item_id}/roundtables.csv").text
    rows = [r for r in csv.DictReader(io.StringIO(download)) if r["record"] == "poll"]
    assert {r["member_category"] for r in rows} == {"all", "citizen", "other", ""}
    assert {r["combined_categories"] for r in rows if r["poll_state"] == "closed"} == {
        " ".join(OTHER_COMBINED)}  # fmt: skip
    open_rows = [r for r in rows if r["poll_state"] == "open"]
    assert len(open_rows) == 2 and {(r["votes"], r["poll_total"]) for r in open_rows} == {("", "")}
    report = runner.invoke(args=["consensus-report", str(item_id), "--format", "json"])
    assert report.exit_code == 0 and assert_no_small_category(json.loads(report.stdout)) >= 6
    report_csv = runner.invoke(
        args=["consensus-report", str(item_id), "--format", "csv", "--table", "roundtables"]
    )
    assert report_csv.stdout == download

    results_page = client.get(f"/roundtables/{sid}/results").text
    polls = section(results_page, 'aria-labelledby="polls-heading"')
    assert_no_small_column(polls)
    assert polls.count('<th scope="col">Other categories</th>') == 2

    # the theme's proposal: its frozen support by category, and its page
    with app.app_context():
        snapshot = db.session.get(Proposal, theme_proposal_id).snapshot
    assert assert_no_small_category(snapshot) == 2
    assert [p["by_category"] for p in snapshot["polls"]] == [
        {"citizen": {"agree": 10, "disagree": 0, "pass": 0},
         "other": {"agree": 10, "disagree": 0, "pass": 0}},
        {"citizen": 6, "other": 7}]  # fmt: skip
    theme_page = client.get(f"/proposals/{theme_proposal_id}").text
    assert_no_small_column(section(theme_page, 'aria-labelledby="snapshot-heading"'))
    assert '<th scope="row">Other categories</th>' in theme_page

    # the item's proposal: the summary frozen at adoption carries the roundtables, closed
    # polls only, under the same rule; its page shows them beside the live summary's link
    assert [s["session_id"] for s in frozen] == [sid, running["session_id"]]
    assert [len(s["polls"]) for s in frozen] == [2, 1]
    assert frozen[0]["polls"] == [agree, choose]
    assert all("ideas" not in t for s in frozen for t in s["themes"])
    assert assert_no_small_category(frozen) == 6  # two options in each of three polls
    page = client.get(f"/proposals/{item_proposal_id}").text
    part = section(page, 'id="frozen-roundtables"')
    assert "Roundtables at adoption" in part and part.count("<table") == 3
    assert_no_small_column(part)
    assert '<th scope="col">Other categories</th>' in part
    assert "6 / 3 / 1" in part  # "other" on buses in the closed session's agree poll
    assert "The live consensus summary of the item" in page

    # frozen means frozen: the running session closes later; the live summary counts its
    # last poll now, the proposal's copy does not change
    with app.app_context():
        session = session_of(running["session_id"])
        sessions.close_session(None, session)
        db.session.commit()
        assert (
            db.session.get(Proposal, item_proposal_id).snapshot["consensus"]["roundtables"]
            == frozen
        )
    live = client.get(f"/summaries/items/{item_id}/summary.json").get_json()["roundtables"]
    assert live[1]["polls"][1]["total"] == 19
    assert client.get(f"/proposals/{item_proposal_id}").text.count("<table") == page.count("<table")
