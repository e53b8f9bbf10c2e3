"""Evaluation surveys over HTTP: attach from the session page, answer at the close, results."""

import json

from sqlalchemy import func, select

from deliberation.accounts.models import Role
from deliberation.evaluations.models import SurveyRespondent, SurveyResponse
from deliberation.extensions import db
from tests.conftest import csrf_token_from
from tests.evaluations.helpers import make_session, overall_survey, seat
from tests.factories import make_user
from tests.voting.support import close_now


def _attach(client, session_id, keys=("understanding", "overall")):
    url = f"/evaluations/new?session_id={session_id}"
    page = client.get(url)
    return client.post(
        url,
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "title": "Our roundtable",
            "questions": list(keys),
            "free_text": "y",
        },
    )


def test_the_lead_attaches_a_survey_and_participants_are_offered_it(app, client, auth):
    with app.app_context():
        lead = make_user(Role.FACILITATOR, email="lead@example.org")
        session_id = make_session(lead).id
        make_user(email="other@example.org")
    auth.login("other@example.org")
    assert client.get(f"/evaluations/new?session_id={session_id}").status_code == 403
    assert "Attach an evaluation survey" not in client.get(f"/roundtables/{session_id}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login("lead@example.org")
    assert "Attach an evaluation survey" in client.get(f"/roundtables/{session_id}").get_data(
        as_text=True
    )
    response = _attach(client, session_id)
    assert response.status_code == 302
    page = client.get(f"/roundtables/{session_id}").get_data(as_text=True)
    assert "Answer the survey: Our roundtable" in page
    results_page = client.get(f"/roundtables/{session_id}/results").get_data(as_text=True)
    assert "Answer the survey: Our roundtable" in results_page
    assert _attach(client, session_id).status_code == 400  # one survey per session


def test_a_participant_answers_once_and_sees_the_results(app, client, auth):
    with app.app_context():
        session = make_session()
        survey_id = overall_survey(session)
        seat(session, email="p@example.org")
    auth.login("p@example.org")
    page = client.get(f"/evaluations/{survey_id}").get_data(as_text=True)
    assert 'id="survey-form"' in page
    data = {"csrf_token": csrf_token_from(page), "q_overall": "4", "free_text": "Good <pace>"}
    response = client.post(f"/evaluations/{survey_id}/answer", data=data)
    assert response.status_code == 302
    assert "You have answered" in client.get(f"/evaluations/{survey_id}").get_data(as_text=True)
    again = client.post(f"/evaluations/{survey_id}/answer", data=data)
    assert again.status_code == 400
    results = json.loads(client.get(f"/evaluations/{survey_id}/results.json").data)
    assert results["respondents"] == 1
    # one answer is counted, never shown: whoever knows who answered would read it
    assert results["questions"][0]["answered"] == 1
    assert results["questions"][0]["counts"] is None
    assert results["free_text"] == [] and results["free_text_withheld"] is True
    html = client.get(f"/evaluations/{survey_id}/results").get_data(as_text=True)
    assert "1 person answered." in html and "Good &lt;pace&gt;" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyRespondent)) == 1


def test_bad_answers_and_outsiders_change_nothing(app, client, auth):
    with app.app_context():
        session = make_session()
        survey_id = overall_survey(session)
        seat(session, email="p@example.org")
        make_user(email="outsider@example.org")
    auth.login("outsider@example.org")
    page = client.get(f"/evaluations/{survey_id}").get_data(as_text=True)
    assert "Only the participants" in page
    token = csrf_token_from(page)
    response = client.post(
        f"/evaluations/{survey_id}/answer", data={"csrf_token": token, "q_overall": "4"}
    )
    assert response.status_code == 403
    auth.logout()
    auth.login("p@example.org")
    token = csrf_token_from(client.get(f"/evaluations/{survey_id}").get_data(as_text=True))
    for bad in ({"q_overall": "7"}, {"q_overall": "x"}, {}):
        response = client.post(
            f"/evaluations/{survey_id}/answer", data={"csrf_token": token, **bad}
        )
        assert response.status_code == 400, bad
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert db.session.scalar(select(func.count()).select_from(SurveyRespondent)) == 0


def test_the_index_and_trend_pages(app, client):
    assert client.get("/evaluations/").status_code == 200
    assert client.get("/evaluations/trend?question=overall").status_code == 200
    assert client.get("/evaluations/trend?question=nothing").status_code == 404
    assert client.get("/evaluations/999/results").status_code == 404


def test_surveys_show_on_the_divisions_accountability_page_and_the_items_summary(app, client):

    from deliberation.evaluations import queries, services
    from deliberation.summaries.services import refresh_summary
    from deliberation.voting import services as voting_services
    from tests.voting.support import make_ballot, make_item

    with app.app_context():
        facilitator = make_user(Role.FACILITATOR)
        item = make_item()
        ballot = make_ballot(item, facilitator)
        voters = [make_user() for _ in range(5)]
        for n, voter in enumerate(voters):
            voting_services.cast_vote(ballot.id, voter, "yes", f"eval-vote-{n}")
            db.session.commit()
        survey = services.create_survey(
            facilitator, ballot, title="How was the vote?", question_keys=["overall"]
        )
        close_now(ballot.id)
        for n, voter in enumerate(voters):
            services.answer_survey(voter, survey, {"overall": 2 + n % 2})
        refresh_summary(item.id)
        db.session.commit()
        listed = queries.surveys_for_item(item.id)
        assert [(row["respondents"], row["overall_mean"]) for row in listed] == [(5, 2.4)]
        item_id, slug = item.id, item.division.slug
    accountability = client.get(f"/proposals/accountability/{slug}").get_data(as_text=True)
    assert "How was the vote?" in accountability and "overall 2.4 of 5" in accountability
    summary = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "How was the vote?" in summary


def test_the_korean_scale_reads_as_a_survey_scale_not_as_reactions(app, client, auth):
    """Points 2 and 4 are "그렇지 않다"/"그렇다", not a comment's "반대"/"찬성"."""
    with app.app_context():
        session = make_session()
        survey_id = overall_survey(session)
        seat(session, email="ko@example.org", language="ko")
        seat(session, email="en@example.org")
    auth.login("ko@example.org")
    page = client.get(f"/evaluations/{survey_id}").get_data(as_text=True)
    for label in ("1 · 전혀 그렇지 않다", "2 · 그렇지 않다", "3 · 보통이다", "4 · 그렇다",
                  "5 · 매우 그렇다"):  # fmt: skip
        assert label in page
    assert "반대" not in page and "찬성" not in page
    auth.logout()
    auth.login("en@example.org")
    page = client.get(f"/evaluations/{survey_id}").get_data(as_text=True)
    assert "2 · Disagree" in page and "4 · Agree" in page


def test_in_the_live_room_the_current_task_comes_before_the_evaluation_placeholder(
    app, client, auth
):
    """During the session the room's survey notice is a heads-up: what to do now comes first."""
    from deliberation.evaluations import services

    with app.app_context():
        session = make_session(closed=False)
        services.create_survey(
            make_user(Role.ADMIN), session, title="Feedback", question_keys=["overall"]
        )
        db.session.commit()
        seat(session, email="p@example.org")
        session_id = session.id
    auth.login("p@example.org")
    room = client.get(f"/roundtables/{session_id}/room").get_data(as_text=True)
    assert (
        "A short evaluation survey opens at the close; everyone who took part gets a link "
        "to it in their notifications." in room
    )
    now, offer = room.index('id="rt-now"'), room.index('id="evaluation-offer"')
    assert now < offer
    # below the room's other panels too: the notice is not one of today's tasks
    assert room.index('id="rt-more"') < offer


def test_the_trend_dates_a_survey_in_the_viewers_time_zone(app, client, auth):
    """A survey made at 00:58 on 7 December in Seoul (15:58 UTC the day before) is dated
    7 December for a Seoul viewer (and for guests: the site's zone), 6 December in New York."""
    from datetime import UTC, datetime

    from deliberation.evaluations.models import Survey

    with app.app_context():
        survey = db.session.get(Survey, overall_survey(make_session()))
        survey.created_at = datetime(2026, 12, 6, 15, 58, tzinfo=UTC)
        seoul = make_user(email="seoul@example.org", language="ko")
        seoul.timezone = "Asia/Seoul"
        make_user(email="newyork@example.org").timezone = "America/New_York"
        db.session.commit()

    def date_cell() -> str:
        page = client.get("/evaluations/trend?question=overall").get_data(as_text=True)
        return page.split('<th scope="row">', 1)[1].split("<td>", 1)[1].split("</td>", 1)[0]

    assert date_cell() == "2026-12-07"
    auth.login("seoul@example.org")
    assert date_cell() == "2026-12-07"
    auth.logout()
    auth.login("newyork@example.org")
    assert date_cell() == "2026-12-06"
