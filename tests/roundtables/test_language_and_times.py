"""Language and time on roundtable pages: generated texts in the session's language, times in
the site's time zone with the zone named, the message after registering in an open lobby."""

from datetime import UTC, datetime

from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.agendas.models import AgendaItem
from deliberation.db import as_utc
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import RoundtableSession
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.roundtables.helpers import build_session
from tests.roundtables.results_helpers import run_session


def test_an_adopted_theme_reads_in_the_korean_leads_language(app):
    with app.app_context():
        run = run_session(close=False)
        session = db.session.get(RoundtableSession, run["session_id"])
        lead = db.session.get(User, run["lead_id"])
        lead.preferred_language = "ko"
        # Closed by the timer or a request in English: the item still follows the session.
        adoption = sessions.close_session(lead, session)
        db.session.commit()
        item = db.session.get(AgendaItem, adoption.items[0].id)
        assert "번 테이블)" in item.body
        assert "(table" not in item.body and "Support in the room poll" not in item.body
        assert "전체 투표 지지율" in item.body


def test_an_english_lead_gets_english_table_origins(app):
    with app.app_context():
        run = run_session()
        item = run["adoption"].items[0]
        assert f"(table {run['park_tables'][0]})" in item.body


def test_session_times_show_in_seoul_time_with_the_zone_named(app, client):
    with app.app_context():
        info = build_session(participants=2, facilitators=0)
        session = db.session.get(RoundtableSession, info["session_id"])
        session.starts_at = datetime(2026, 12, 5, 1, 27, tzinfo=UTC)
        db.session.commit()
        sid = session.id
    page = client.get(f"/roundtables/{sid}", headers={"Accept-Language": "en"}).text
    assert "2026-12-05 10:27 (South Korea Time)" in page and "01:27 UTC" not in page
    index = client.get("/roundtables/", headers={"Accept-Language": "ko"}).text
    assert "2026-12-05 10:27 (대한민국 시간)" in index


def test_registering_in_an_open_lobby_says_enter_now(app, client, auth):
    with app.app_context():
        info = build_session(participants=1, facilitators=0, state="lobby")
        scheduled = build_session(participants=1, facilitators=0, state="scheduled")
        user = make_user(email="late@example.org")
        assert user.id
    auth.login("late@example.org")
    for sid, wanted, unwanted in (
        (info["session_id"], "enter the room now", "when the lobby opens"),
        (scheduled["session_id"], "when the lobby opens", "enter the room now"),
    ):
        page = client.get(f"/roundtables/{sid}").text
        response = client.post(
            f"/roundtables/{sid}/register",
            data={"csrf_token": csrf_token_from(page)},
            follow_redirects=True,
        )
        assert wanted in response.text and unwanted not in response.text


def test_a_start_time_is_typed_in_the_sites_time_zone(app, client, auth):
    with app.app_context():
        division = make_division().id
        make_user(Role.FACILITATOR, email="lead@example.org")
    auth.login("lead@example.org")
    page = client.get("/roundtables/new", headers={"Accept-Language": "en"})
    assert "Starts at (South Korea Time)" in page.text
    response = client.post(
        "/roundtables/new",
        data={"csrf_token": csrf_token_from(page.text), "title": "Housing", "division_id": division,
              "starts_at": "2026-12-05T10:27", "capacity": 100, "table_size": 8,
              "ideas_per_round": 3, "threshold_percent": 60},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(RoundtableSession))
        assert as_utc(session.starts_at) == datetime(2026, 12, 5, 1, 27, tzinfo=UTC)
    assert "2026-12-05 10:27 (South Korea Time)" in client.get(response.location).text


def test_a_korean_leads_poll_close_sends_the_english_room_no_korean_words(app):
    """A tally reaches the whole room: it carries the pass rule as data (each page words it
    in its own language), never a sentence in the language of whoever acted."""
    import json
    import re

    from tests.roundtables.helpers import emit, joined, received
    from tests.roundtables.test_polls import poll_phase

    info, sid, _english_lead, poll = poll_phase(app, people=4, facilitators=1)
    with app.app_context():
        db.session.get(User, info["lead_id"]).preferred_language = "ko"
        db.session.commit()
    korean_lead, _ = joined(app, info["lead_id"], sid)
    citizen, _ = joined(app, info["people"][0], sid)
    received(citizen)
    vote = {"session_id": sid, "poll_id": poll["id"], "option_id": poll["options"][0]["id"],
            "client_id": "a-first-vote"}  # fmt: skip
    assert emit(citizen, "poll_vote", vote)["ok"]
    closed = emit(korean_lead, "poll_close", {"session_id": sid, "poll_id": poll["id"]})
    assert closed["ok"], closed
    events = received(citizen)
    tallies = [e["args"][0]["tally"] for e in events if e["name"] == "poll_closed"]
    assert tallies and tallies[-1]["rule"] == "at_least"
    assert tallies[-1]["threshold_percent"] == 50
    assert "rule_text" not in tallies[-1] and "rule_text" not in closed["tally"]
    everything = json.dumps([*events, closed], ensure_ascii=False)
    assert not re.search("[가-힣]", everything)


def test_the_korean_results_themes_table_names_each_column_once(app, client):
    """The columns "Result" (passed or not) and "Became" (an item or proposal) differ in Korean."""
    import re

    with app.app_context():
        sid = run_session()["session_id"]
    page = client.get(f"/roundtables/{sid}/results", headers={"Accept-Language": "ko"}).text
    header = re.search(r"<thead><tr><th scope=\"col\">주제</th>.*?</tr></thead>", page).group(0)
    columns = re.findall(r"<th scope=\"col\">([^<]+)</th>", header)
    assert len(columns) == 6 and len(set(columns)) == 6, columns
    assert columns[3] == "결과" and columns[5] == "이후 처리"


def test_a_closed_session_reads_ended_in_korean_and_a_closed_ballot_reads_closed(app, client):
    """ "Closed" is two words in Korean: a session that ended is 종료, a ballot 마감됨 (each
    has its own context, so one catalogue cannot take the other's word)."""
    from tests.voting.support import close_now, make_ballot

    with app.app_context():
        sid = run_session()["session_id"]
        ballot = make_ballot()
        close_now(ballot.id)
    korean = {"Accept-Language": "ko"}
    detail = client.get(f"/roundtables/{sid}", headers=korean).text
    assert '<span class="tag">종료</span>' in detail
    results = client.get(f"/roundtables/{sid}/results", headers=korean).text
    assert "종료 <time" in results
    assert "마감됨" in client.get("/voting/", headers=korean).text
    english = client.get(f"/roundtables/{sid}", headers={"Accept-Language": "en"}).text
    assert '<span class="tag">Closed</span>' in english
