"""Evaluation surveys: built from the bank, answered once after the close, never linked to a
person in any output; results by group under the small-group rule; the trend over surveys."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.db import utcnow
from deliberation.evaluations import queries, services
from deliberation.evaluations.models import (
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
)
from deliberation.extensions import db
from deliberation.voting import services as voting_services
from tests.evaluations.helpers import make_session, seat
from tests.factories import make_division, make_user
from tests.voting.support import close_now, make_ballot

QUESTIONS = ["understanding", "equal_voice", "overall"]


def _survey(session, lead=None, **options):
    survey = services.create_survey(
        lead or db.session.get(User, session.lead_id),
        session,
        title="How did the roundtable go?",
        question_keys=options.pop("question_keys", QUESTIONS),
        **options,
    )
    db.session.commit()
    return survey


def test_only_the_lead_or_an_admin_builds_a_survey_once(app_ctx):
    session = make_session()
    with pytest.raises(PermissionDenied):
        services.create_survey(
            make_user(Role.FACILITATOR), session, title="x", question_keys=["overall"]
        )
    with pytest.raises(DomainError):
        services.create_survey(
            make_user(Role.ADMIN), session, title="x", question_keys=["not-in-the-bank"]
        )
    survey = _survey(session)
    assert survey.question_keys == QUESTIONS
    with pytest.raises(DomainError, match="already has a survey"):
        services.create_survey(
            make_user(Role.ADMIN), session, title="Again", question_keys=["overall"]
        )
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "survey.create")) == 1


def test_a_participant_answers_once_after_the_close(app_ctx):
    session = make_session(closed=False)
    survey = _survey(session)
    person = seat(session)
    with pytest.raises(IllegalTransition):
        services.answer_survey(person, survey, {"overall": 4})
    session.state, session.closed_at = session.state.CLOSED, utcnow()
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.answer_survey(make_user(), survey, {"overall": 4})  # not a participant
    with pytest.raises(DomainError):
        services.answer_survey(person, survey, {"overall": 9})
    with pytest.raises(DomainError):
        services.answer_survey(person, survey, {"fair_facilitation": 3})  # not asked
    other = seat(session)
    assert queries.participants_to_invite(survey) == sorted([person.id, other.id])
    services.answer_survey(person, survey, {"overall": 4, "understanding": 5}, "More time.")
    db.session.commit()
    assert queries.participants_to_invite(survey) == [other.id]
    with pytest.raises(DomainError, match="already answered"):
        services.answer_survey(person, survey, {"overall": 1})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 2


def test_the_answers_are_kept_apart_from_who_answered(app_ctx):
    """No column of the answer tables names a person or a time, the ids are random, and the
    audit log records who answered but never what."""
    session = make_session()
    survey = _survey(session)
    people = [seat(session) for _ in range(3)]
    for n, person in enumerate(people):
        services.answer_survey(person, survey, {"overall": n + 3}, f"note {n}")
        db.session.commit()
    for model in (SurveyResponse, SurveyAnswer):
        columns = {c.name for c in model.__table__.columns}
        assert not columns & {"user_id", "created_at", "updated_at", "answered_at"}, columns
        assert not [fk for fk in model.__table__.foreign_keys if fk.column.table.name == "users"]
        # SQLite stores them in random primary-key order, not in the order people answered
        assert model.__table__.dialect_options["sqlite"]["with_rowid"] is False
    respondent_columns = {c.name for c in SurveyRespondent.__table__.columns}
    assert respondent_columns == {"survey_id", "user_id"}
    ids = db.session.scalars(select(SurveyResponse.id)).all()
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == 3
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.answer"))
    assert [e.details for e in entries] == [{}, {}, {}]


def test_no_output_links_an_answer_to_a_person(app, client):
    with app.app_context():
        session = make_session()
        survey = _survey(session, asks_free_text=True)
        names = []
        for n in range(6):
            person = seat(session, name=f"Respondent Zeta{n}")
            names += [person.display_name, person.email]
            services.answer_survey(person, survey, {"overall": 1 + n % 5}, f"Idea number {n}")
            db.session.commit()
        survey_id = survey.id
        response_ids = db.session.scalars(select(SurveyResponse.id)).all()
    outputs = [
        client.get(f"/evaluations/{survey_id}/results").get_data(as_text=True),
        client.get(f"/evaluations/{survey_id}/results.json").get_data(as_text=True),
        client.get(f"/evaluations/{survey_id}/results.csv").get_data(as_text=True),
        client.get("/evaluations/trend?question=overall").get_data(as_text=True),
        client.get("/evaluations/trend?question=overall&format=json").get_data(as_text=True),
    ]
    for output in outputs:
        for marker in [*names, *response_ids]:
            assert marker not in output
    data = json.loads(outputs[1])
    assert data["respondents"] == 6
    # the written answers are shown (6 ≥ the minimum), sorted, never in the order given
    assert data["free_text"] == sorted(f"Idea number {n}" for n in range(6))


def test_results_by_category_and_division_follow_the_small_group_rule(app_ctx):
    session = make_session()
    survey = _survey(session)
    north, south = make_division(), make_division()
    for _ in range(5):
        services.answer_survey(
            seat(session, MemberCategory.CITIZEN, north.id), survey, {"overall": 5}
        )
    for _ in range(2):
        services.answer_survey(
            seat(session, MemberCategory.EXPERT, south.id), survey, {"overall": 1}
        )
    services.answer_survey(
        seat(session, MemberCategory.CIVIL_SERVANT, south.id), survey, {"overall": 2}
    )
    db.session.commit()
    results = queries.survey_results(survey)
    overall = next(q for q in results["questions"] if q["key"] == "overall")
    assert overall["counts"] == {"1": 2, "2": 1, "3": 0, "4": 0, "5": 5}
    assert overall["mean"] == 3.62  # 29 / 8
    # experts (2) and civil servants (1): 3 together, under 5 → the citizens are combined too,
    # so nothing is broken down by category
    assert overall["by_category"] == {}
    assert overall["category_note"]["withheld"] is True
    # divisions: north has 5, south 3 → south and then north combined: withheld as well
    assert overall["by_division"] == {}
    # five citizens and two welfare organisations more from the south: both divisions show;
    # experts (2), civil servants (1) and welfare organisations (2) make 5 "other"
    for _ in range(5):
        services.answer_survey(
            seat(session, MemberCategory.CITIZEN, south.id), survey, {"overall": 4}
        )
    for _ in range(2):
        services.answer_survey(
            seat(session, MemberCategory.WELFARE_ORGANISATION, south.id), survey, {"overall": 3}
        )
    db.session.commit()
    overall = next(q for q in queries.survey_results(survey)["questions"] if q["key"] == "overall")
    assert overall["by_division"][str(north.id)]["counts"]["5"] == 5
    assert overall["by_division"][str(south.id)]["counts"] == {
        "1": 2,
        "2": 1,
        "3": 2,
        "4": 5,
        "5": 0,
    }
    assert list(overall["by_category"]) == ["citizen", "other"]
    assert overall["by_category"]["other"]["counts"] == {"1": 2, "2": 1, "3": 2, "4": 0, "5": 0}
    assert overall["category_note"]["combined"] == [
        "welfare_organisation",
        "expert",
        "civil_servant",
    ]
    csv_text = queries.results_csv(queries.survey_results(survey))
    assert "overall,category,other,5,2,1,2,0,0,2.0" in csv_text
    assert f"overall,division,{north.id},5,0,0,0,0,5,5.0" in csv_text


def test_a_ballot_survey_is_answered_by_voters(app_ctx):
    facilitator = make_user(Role.FACILITATOR)
    ballot = make_ballot(facilitator=facilitator)
    voter, bystander = make_user(divisions=[make_division()]), make_user()
    voting_services.cast_vote(ballot.id, voter, "yes", "survey-vote-1")
    db.session.commit()
    survey = services.create_survey(
        facilitator, ballot, title="The ballot", question_keys=["equal_voice"]
    )
    db.session.commit()
    with pytest.raises(IllegalTransition):
        services.answer_survey(voter, survey, {"equal_voice": 5})
    close_now(ballot.id)
    with pytest.raises(PermissionDenied):
        services.answer_survey(bystander, survey, {"equal_voice": 5})
    services.answer_survey(voter, survey, {"equal_voice": 5})
    db.session.commit()
    response = db.session.scalar(select(SurveyResponse))
    assert response.division_id == voter.divisions[0].id


def test_the_trend_of_a_question_over_surveys(app_ctx):
    means = []
    for round_no, rating in enumerate((2, 4, 5)):
        session = make_session()
        survey = _survey(session)
        survey.created_at = utcnow() + timedelta(days=round_no)
        for _ in range(5):
            services.answer_survey(seat(session), survey, {"overall": rating})
        db.session.commit()
        means.append(float(rating))
    last_session = make_session()
    small = _survey(last_session, question_keys=["overall"])
    small.created_at = utcnow() + timedelta(days=9)
    services.answer_survey(seat(last_session), small, {"overall": 1})
    db.session.commit()
    trend = queries.question_trend("overall")
    assert [p["mean"] for p in trend] == [*means, None]  # the last had one answer: not shown
    assert trend[-1]["answered"] == 1 and trend[-1]["counts"] is None
    assert queries.question_trend("fair_facilitation") == []
