"""Roundtable results in an item's consensus summary: page, printable page, JSON, CSV and the
report command, with exact tallies overall and by member category; counts only; a fixed number
of queries; and the session's public results page after close."""

import csv
import io
import json

from sqlalchemy import event, select

from deliberation.accounts.models import MemberCategory
from deliberation.extensions import db
from deliberation.roundtables import polls, sessions
from deliberation.roundtables.models import Poll, RoundtableSession, Theme
from deliberation.summaries.queries import roundtable_results
from tests.agendas.helpers import make_item
from tests.factories import make_user
from tests.roundtables.results_helpers import run_session

# Votes of run_session(people=24); build_session makes person n citizen, welfare organisation,
# expert, civil servant in turn (n % 4), six of each, so every category is shown:
# agree poll: everyone agrees with parks; buses by n % 8: agree (0-2), disagree (3-6), pass (7).
PARKS_AGREE = {"agree": 24, "disagree": 0, "pass": 0}
BUSES_AGREE = {"agree": 9, "disagree": 12, "pass": 3}
BUSES_AGREE_BY_CATEGORY = {
    "citizen": {"agree": 3, "disagree": 3, "pass": 0},
    "welfare_organisation": {"agree": 3, "disagree": 3, "pass": 0},
    "expert": {"agree": 3, "disagree": 3, "pass": 0},
    "civil_servant": {"agree": 0, "disagree": 3, "pass": 3},
}
# choose-one poll: persons 0-22 vote (the last, a civil servant, does not): parks when
# n % 8 < 5, else buses; five civil servants vote, still enough to be shown.
PARKS_CHOSEN_BY_CATEGORY = {
    "citizen": 6, "welfare_organisation": 3, "expert": 3, "civil_servant": 3,
}  # fmt: skip
BUSES_CHOSEN_BY_CATEGORY = {
    "citizen": 0, "welfare_organisation": 3, "expert": 3, "civil_servant": 2,
}  # fmt: skip
SHOWN_IN_FULL = {"minimum": 5, "combined": [], "withheld": False}


def linked_item_and_session(app, people: int = 24) -> tuple[int, dict]:
    with app.app_context():
        item_id = make_item(make_user(), title="Greener streets").id
        run = run_session(item_ids=(item_id,), people=people)
        return item_id, {k: v for k, v in run.items() if k != "adoption"}


def test_summary_json_page_csv_and_report_carry_the_linked_session(app, client, runner):
    item_id, run = linked_item_and_session(app)
    sid = run["session_id"]
    data = client.get(f"/summaries/items/{item_id}/summary.json").get_json()
    [session] = data["roundtables"]
    assert (session["session_id"], session["state"], session["linked"]) == (sid, "closed", True)
    assert session["source"] == f"/roundtables/{sid}/results"
    agree, choose = session["polls"]
    assert (agree["poll_id"], agree["kind"], agree["total"]) == (run["agree_poll"], "agree", 24)
    assert agree["source"] == f"/roundtables/{sid}/results#poll-{run['agree_poll']}"
    assert agree["categories"] == ["citizen", "welfare_organisation", "expert", "civil_servant"]
    assert agree["small_groups"] == choose["small_groups"] == SHOWN_IN_FULL
    parks, buses = agree["options"]
    assert (parks["label"], parks["theme_id"], parks["all"]) == (
        "Green parks", run["parks"], PARKS_AGREE)  # fmt: skip
    assert buses["all"] == BUSES_AGREE and buses["by_category"] == BUSES_AGREE_BY_CATEGORY
    assert (choose["kind"], choose["total"]) == ("choose_one", 23)
    assert [o["all"] for o in choose["options"]] == [15, 8]
    assert choose["options"][0]["by_category"] == PARKS_CHOSEN_BY_CATEGORY
    assert choose["options"][1]["by_category"] == BUSES_CHOSEN_BY_CATEGORY
    themes = {t["name"]: t for t in session["themes"]}
    assert themes["Green parks"]["support_percent"] == 100.0
    assert themes["Green parks"]["tables"] == run["park_tables"]
    assert themes["Green parks"]["agenda_item_id"] and not themes["Green parks"]["became_this_item"]
    assert themes["Better buses"]["support_percent"] == 37.5
    assert themes["Better buses"]["tables"] == [run["bus_table"]]
    assert themes["Better buses"]["agenda_item_id"] is None
    # counts only: no names, emails or account ids of the people who voted
    text = json.dumps(data["roundtables"])
    assert "Person" not in text and "@" not in text and "user" not in text

    page = client.get(f"/summaries/items/{item_id}").text
    for fragment in ("Agree with each theme?", "Which one first?", "24 / 0 / 0", "9 / 12 / 3",
                     "0 / 3 / 3", f'href="/roundtables/{sid}/results"', "Civil servant",
                     "This session was about this item.", "best support 37.5% (threshold 50%)",
                     f"/summaries/items/{item_id}/roundtables.csv"):  # fmt: skip
        assert fragment in page, fragment
    printable = client.get(f"/summaries/items/{item_id}/print").text
    assert "9 / 12 / 3" in printable and f"#poll-{run['choose_poll']}" in printable
    korean = client.get(f"/summaries/items/{item_id}", headers={"Accept-Language": "ko"}).text
    assert "동의 / 반대 / 보류" in korean and "이 원탁회의는 이 안건을 다루었습니다." in korean

    download = client.get(f"/summaries/items/{item_id}/roundtables.csv")
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.text)))
    poll_rows = [r for r in rows if r["record"] == "poll"]
    assert len(poll_rows) == 2 * 2 * 5  # two polls, two options, everyone + four categories
    chosen = {(r["option_label"], r["member_category"]): r["votes"] for r in poll_rows
              if r["poll_id"] == str(run["choose_poll"])}  # fmt: skip
    assert chosen[("Green parks", "all")] == "15" and chosen[("Green parks", "citizen")] == "6"
    assert chosen[("Better buses", "welfare_organisation")] == "3"
    assert chosen[("Better buses", "civil_servant")] == "2"
    civil_buses = next(r for r in poll_rows if r["poll_kind"] == "agree"
                       and r["option_label"] == "Better buses"
                       and r["member_category"] == "civil_servant")  # fmt: skip
    assert (civil_buses["agree"], civil_buses["disagree"], civil_buses["pass"]) == ("0", "3", "3")
    assert {r["combined_categories"] for r in poll_rows} == {""}
    theme_rows = {r["theme_name"]: r for r in rows if r["record"] == "theme"}
    assert theme_rows["Better buses"]["support_percent"] == "37.5"
    assert theme_rows["Green parks"]["tables"] == " ".join(map(str, run["park_tables"]))

    report = runner.invoke(args=["consensus-report", str(item_id), "--format", "json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["roundtables"] == data["roundtables"]
    report_csv = runner.invoke(
        args=["consensus-report", str(item_id), "--format", "csv", "--table", "roundtables"]
    )
    assert report_csv.exit_code == 0 and report_csv.stdout == download.text


def test_an_item_made_from_a_theme_shows_its_origin_and_the_results_page(app, client):
    with app.app_context():
        linked_id = make_item(make_user(), title="Greener streets").id
        run = run_session(item_ids=(linked_id,), people=24)
        made_id = db.session.get(Theme, run["parks"]).agenda_item_id
    sid = run["session_id"]
    [origin] = client.get(f"/summaries/items/{made_id}/summary.json").get_json()["roundtables"]
    assert origin["linked"] is False and origin["session_id"] == sid
    assert [t["name"] for t in origin["themes"]] == ["Green parks"]
    assert origin["themes"][0]["became_this_item"] is True
    assert [p["poll_id"] for p in origin["polls"]] == [run["agree_poll"], run["choose_poll"]]
    summary_page = client.get(f"/summaries/items/{made_id}").text
    assert "This item came from one of its themes." in summary_page
    assert "became this item" in summary_page
    item_page = client.get(f"/agendas/{made_id}").text
    assert f'href="/roundtables/{sid}/results"' in item_page
    assert "This item came from a theme of this roundtable." in item_page

    page = client.get(f"/roundtables/{sid}/results")
    assert page.status_code == 200
    html = page.text
    assert f'href="/agendas/{linked_id}"' in html and "Greener streets" in html
    assert f'href="/agendas/{made_id}"' in html and f"Agenda item {made_id}" in html
    assert f'id="poll-{run["agree_poll"]}"' in html and f'id="theme-{run["buses"]}"' in html
    assert "Civil servant" in html and "0 / 3 / 3" in html


def test_live_sessions_show_and_the_query_count_does_not_grow(app):
    with app.app_context():
        item_id = make_item(make_user(), title="Greener streets").id
        statements: list[str] = []

        def count(*args) -> None:
            statements.append(args[2])

        def queries_for(target: int) -> int:
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                roundtable_results(target)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            return len(statements)

        assert queries_for(item_id) == 1  # no roundtable: one query
        running = run_session(item_ids=(item_id,), close=False)
        [live] = roundtable_results(item_id)
        assert live["state"] == "running"
        assert [p["state"] for p in live["polls"]] == ["closed", "open"]
        assert live["polls"][0]["total"] == 8
        # an open poll is listed without figures: a running count is not a result
        still_open = live["polls"][1]
        assert still_open["total"] is None and still_open["categories"] == []
        assert [o["all"] for o in still_open["options"]] == [None, None]
        assert live["themes"][0]["support_percent"] == 100.0  # from the closed poll only
        one_session = queries_for(item_id)
        run_session(item_ids=(item_id,))
        run_session(item_ids=(item_id,))
        # a scheduled session linked to the item adds nothing
        first = db.session.get(RoundtableSession, running["session_id"])
        sessions.create_session(
            first.lead, division=first.division, title="Later", agenda_item_ids=[item_id]
        )
        db.session.commit()
        found = roundtable_results(item_id)
        assert len(found) == 3 and sum(len(s["polls"]) for s in found) == 6
        assert queries_for(item_id) == one_session == 5


def test_many_poll_tallies_match_the_live_tally(app):
    with app.app_context():
        # every category shown; two too small, combined; every category too small, withheld
        mixed = [MemberCategory.CITIZEN] * 3 + [
            MemberCategory.EXPERT,
            MemberCategory.WELFARE_ORGANISATION,
        ]
        runs = [run_session(people=24), run_session(people=20, categories=mixed), run_session()]
        for run, rule in zip(runs, ("full", "combined", "withheld"), strict=True):
            run_polls = list(
                db.session.scalars(select(Poll).where(Poll.session_id == run["session_id"]))
            )
            batched = polls.poll_tallies(run_polls)
            assert len(run_polls) == 2
            for poll in run_polls:
                live = polls.poll_tally(poll)
                assert batched[poll.id] == live
                assert bool(live["small_groups"]["combined"]) == (rule == "combined")
                assert live["small_groups"]["withheld"] == (rule == "withheld")
