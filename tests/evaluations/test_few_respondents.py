"""Fewer respondents than the small-group minimum: every page and export says how many
answered, never how they answered (the results page, its JSON and CSV, the trend page and its
JSON, the lists on other pages)."""

import csv
import io
import json

from deliberation.accounts.models import User
from deliberation.core.small_groups import MIN_GROUP
from deliberation.evaluations import queries, services
from deliberation.evaluations.models import Survey
from deliberation.extensions import db
from tests.evaluations.helpers import make_session, overall_survey, seat
from tests.factories import make_user


def _answered_by(app, ratings: list[dict[str, int]], **seat_options) -> int:
    """A closed session's one-question ("overall") survey answered once per rating set."""
    with app.app_context():
        session = make_session()
        survey_id = overall_survey(session)
        survey = db.session.get(Survey, survey_id)
        for rating in ratings:
            services.answer_survey(seat(session, **seat_options), survey, rating, "My own words")
        db.session.commit()
        return survey_id


def test_one_answer_is_counted_but_never_shown(app, client, auth):
    survey_id = _answered_by(app, [{"overall": 3}])
    with app.app_context():
        make_user(email="ko@example.org", language="ko")
    auth.login("ko@example.org")
    html = client.get(f"/evaluations/{survey_id}/results").get_data(as_text=True)
    assert "1명이 응답했습니다." in html
    assert f"결과는 {MIN_GROUP}명 이상이 응답한 뒤에 보여 줍니다." in html
    # neither the scale's table nor the chart nor the mean: "3 · 보통이다": 1 gave it away
    assert "3 · 보통이다" not in html and "data-value=" not in html
    assert 'id="survey-chart"' not in html and "점(5점 만점)" not in html
    assert "My own words" not in html
    client = app.test_client()  # a guest reading English
    html = client.get(f"/evaluations/{survey_id}/results").get_data(as_text=True)
    assert "1 person answered." in html
    assert f"Results are shown once at least {MIN_GROUP} people have answered" in html
    assert "3 · Neither agree nor disagree" not in html and "data-value=" not in html

    data = json.loads(client.get(f"/evaluations/{survey_id}/results.json").data)
    assert data["respondents"] == 1 and data["answers_shown"] is False
    [question] = data["questions"]
    assert question["answered"] == 1
    assert question["counts"] is None and question["mean"] is None
    assert question["by_category"] == {} and question["by_division"] == {}
    assert data["free_text"] == []

    rows = list(csv.reader(io.StringIO(client.get(f"/evaluations/{survey_id}/results.csv").text)))
    assert rows[1:] == [["overall", "all", "all", "1", "", "", "", "", "", ""]]

    trend = json.loads(client.get("/evaluations/trend?question=overall&format=json").data)
    assert [(p["answered"], p["counts"], p["mean"]) for p in trend["surveys"]] == [(1, None, None)]
    page = client.get("/evaluations/trend?question=overall").get_data(as_text=True)
    assert "<td>1</td>" in page and "3.0" not in page


def test_answers_show_from_the_minimum(app, client):
    survey_id = _answered_by(app, [{"overall": 3}] * MIN_GROUP)
    data = json.loads(client.get(f"/evaluations/{survey_id}/results.json").data)
    assert data["answers_shown"] is True
    assert data["questions"][0]["counts"] == {"1": 0, "2": 0, "3": MIN_GROUP, "4": 0, "5": 0}
    html = client.get(f"/evaluations/{survey_id}/results").get_data(as_text=True)
    assert 'data-value="3">5<' in html and 'id="survey-chart"' in html
    assert "Results are shown once" not in html


def test_a_question_few_answered_stays_hidden_in_a_survey_many_answered(app_ctx):
    """Six answered the survey but only two rated "understanding" (a question may be
    skipped): "overall" shows, "understanding" only says how many answered it."""
    session = make_session()
    survey = services.create_survey(
        db.session.get(User, session.lead_id),
        session,
        title="Feedback",
        question_keys=["understanding", "overall"],
    )
    db.session.commit()
    for n in range(6):
        ratings = {"overall": 4} | ({"understanding": 1} if n < 2 else {})
        services.answer_survey(seat(session), survey, ratings)
    db.session.commit()
    results = queries.survey_results(survey)
    understanding, overall = results["questions"]
    assert understanding["answered"] == 2 and understanding["counts"] is None
    assert understanding["by_category"] == {} and understanding["mean"] is None
    assert overall["counts"]["4"] == 6 and overall["mean"] == 4.0
    assert [p["counts"] for p in queries.question_trend("understanding")] == [None]
    csv_rows = queries.results_csv(results).splitlines()
    assert "understanding,all,all,2,,,,,," in csv_rows
    assert "overall,all,all,6,0,0,0,6,0,4.0" in csv_rows
