"""The roundtable pages over HTTP: list, create, register, room, console, projector, results."""

from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.extensions import db
from deliberation.roundtables.models import Participant, ParticipantRole, RoundtableSession
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.roundtables.helpers import build_session


def test_facilitator_schedules_a_session_and_citizens_register(app, client, auth):
    with app.app_context():
        division = make_division().id
        make_user(Role.FACILITATOR, email="lead@example.org")
        make_user(email="citizen@example.org")
    auth.login("lead@example.org")
    page = client.get("/roundtables/new")
    assert page.status_code == 200
    bad = client.post("/roundtables/new", data={"csrf_token": csrf_token_from(page.text),
                                                "title": "", "division_id": division})  # fmt: skip
    assert bad.status_code == 400 and b"error-summary" in bad.data
    response = client.post(
        "/roundtables/new",
        data={"csrf_token": csrf_token_from(page.text), "title": "Housing", "division_id": division,
              "briefing": "**Read** this", "capacity": 100, "table_size": 8,
              "ideas_per_round": 3, "threshold_percent": 60},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(RoundtableSession))
        assert (session.title, session.table_size, session.lead.email) == (
            "Housing", 8, "lead@example.org")  # fmt: skip
        sid = session.id
    auth.logout()
    auth.login("citizen@example.org")
    detail = client.get(f"/roundtables/{sid}")
    assert b"<strong>Read</strong>" in detail.data
    client.post(f"/roundtables/{sid}/register", data={"csrf_token": csrf_token_from(detail.text)})
    with app.app_context():
        participant = db.session.scalar(select(Participant))
        assert participant.role == ParticipantRole.PARTICIPANT
    assert client.get(f"/roundtables/{sid}/console").status_code == 403
    assert client.get(f"/roundtables/{sid}/themes").status_code == 403
    assert client.get("/roundtables/new").status_code == 403


def test_a_pass_threshold_of_zero_percent_is_accepted_and_an_empty_one_refused(app, client, auth):
    with app.app_context():
        division = make_division().id
        make_user(Role.FACILITATOR, email="lead@example.org")
    auth.login("lead@example.org")
    token = csrf_token_from(client.get("/roundtables/new").text)

    def schedule(threshold: str):
        return client.post(
            "/roundtables/new",
            data={"csrf_token": token, "title": "Every theme passes", "division_id": division,
                  "capacity": 100, "table_size": 8, "ideas_per_round": 3,
                  "threshold_percent": threshold},
        )  # fmt: skip

    for missing in ("", "101", "-1"):
        refused = schedule(missing)
        assert refused.status_code == 400 and b"error-summary" in refused.data, missing
    assert b"This field is required" in schedule("").data
    assert schedule("0").status_code == 302
    with app.app_context():
        sessions = db.session.scalars(select(RoundtableSession)).all()
        assert [s.threshold_percent for s in sessions] == [0]


def test_room_console_projector_and_results_pages(app, client, auth):
    with app.app_context():
        info = build_session(participants=3, facilitators=0)
        session = db.session.get(RoundtableSession, info["session_id"])
        token = session.projector_token
        from deliberation.accounts.models import User

        lead_email = db.session.get(User, info["lead_id"]).email
    sid = info["session_id"]
    assert client.get(f"/roundtables/{sid}/room").status_code == 302  # login first
    auth.login(lead_email)
    for path in (f"/roundtables/{sid}/room", f"/roundtables/{sid}/console",
                 f"/roundtables/{sid}/themes", f"/roundtables/projector/{token}"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text and 'style="' not in page.text
    assert token.encode() in client.get(f"/roundtables/{sid}/console").data
    assert client.get("/roundtables/projector/not-the-token-at-all").status_code == 404
    assert client.get(f"/roundtables/{sid}/results").status_code == 302
    with app.app_context():
        db.session.get(RoundtableSession, sid).close()
        db.session.commit()
    assert client.get(f"/roundtables/{sid}/results").status_code == 200
    assert b"Roundtables" in client.get("/roundtables/").data


def test_pages_speak_korean(app, client):
    with app.app_context():
        build_session(participants=1, facilitators=0)
    page = client.get("/roundtables/", headers={"Accept-Language": "ko"})
    assert "원탁토론" in page.text and "대기실 열림" in page.text


def test_the_results_page_counts_one_vote_in_the_singular(app, client):
    from deliberation.roundtables import polls, sessions
    from deliberation.roundtables.models import Participant as Seat
    from tests.roundtables.helpers import cid, open_poll_in_a_seated_room

    with app.app_context():
        session, poll, people = open_poll_in_a_seated_room(4)
        voter = db.session.scalar(
            select(Seat).where(Seat.session_id == session.id, Seat.user_id == people[0])
        )
        info = polls.get_poll_for_vote(session.id, poll.id)
        polls.cast_poll_vote(info, voter, cid(), option_id=poll.options[0].id)
        sessions.close_session(None, session)
        db.session.commit()
        sid = session.id
    english = client.get(f"/roundtables/{sid}/results", headers={"Accept-Language": "en"}).text
    assert "1 vote\n" in english and "1 votes" not in english
    korean = client.get(f"/roundtables/{sid}/results", headers={"Accept-Language": "ko"}).text
    assert "1표" in korean
