"""Citizens judge the answer and the implementation; contested proposals go back to the agenda."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import MemberCategory, Role
from deliberation.agendas.models import ItemState
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import IllegalTransition, PermissionDenied
from deliberation.extensions import db
from deliberation.proposals import feedback, judgements, queries
from deliberation.proposals.models import Judgement, JudgementStep, Satisfaction
from tests.factories import make_division, make_user
from tests.proposals.feedback_helpers import answered_proposal, implement

ANSWER, IMPLEMENTATION = JudgementStep.ANSWER, JudgementStep.IMPLEMENTATION
SATISFIED, PARTLY, NOT = Satisfaction.SATISFIED, Satisfaction.PARTLY, Satisfaction.NOT_SATISFIED


def _judgements() -> int:
    return db.session.scalar(select(func.count()).select_from(Judgement))


def test_one_judgement_per_person_per_step_and_it_can_change(app_ctx):
    proposal = answered_proposal()
    citizen = make_user()
    judgements.judge(citizen, proposal, ANSWER, NOT, "Too few benches.")
    db.session.commit()
    judgements.judge(citizen, proposal, ANSWER, PARTLY, "")
    db.session.commit()
    assert _judgements() == 1
    results = feedback.judgement_results(proposal.id)["answer"]
    assert results["counts"] == {"satisfied": 0, "partly": 1, "not_satisfied": 0}
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.startswith("judgement."))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["judgement.create", "judgement.change"]


def test_the_database_refuses_a_second_row_for_the_same_step(app_ctx):
    proposal = answered_proposal()
    citizen = make_user()
    judgements.judge(citizen, proposal, ANSWER, SATISFIED)
    db.session.commit()
    db.session.add(
        Judgement(
            proposal_id=proposal.id,
            step=ANSWER,
            user_id=citizen.id,
            value=NOT,
            member_category=MemberCategory.CITIZEN,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert _judgements() == 1


def test_a_step_is_judged_only_once_it_happened(app_ctx):
    official = make_user(Role.OFFICIAL)
    citizen = make_user()
    from deliberation.proposals import services

    queued = services.create_proposal(
        title="Ramp", summary="", snapshot={}, division_id=make_division().id
    )
    with pytest.raises(IllegalTransition):
        judgements.judge(citizen, queued, ANSWER, SATISFIED)
    answered = answered_proposal(official=official)
    with pytest.raises(IllegalTransition):
        judgements.judge(citizen, answered, IMPLEMENTATION, SATISFIED)
    implement(answered, official)
    judgements.judge(citizen, answered, IMPLEMENTATION, SATISFIED)
    db.session.commit()
    assert _judgements() == 1


def test_results_by_category_follow_the_small_group_rule(app_ctx):
    proposal = answered_proposal()
    for _ in range(5):
        judgements.judge(make_user(category=MemberCategory.CITIZEN), proposal, ANSWER, SATISFIED)
    for _ in range(3):
        judgements.judge(make_user(category=MemberCategory.EXPERT), proposal, ANSWER, NOT)
    for _ in range(2):
        judgements.judge(make_user(category=MemberCategory.CIVIL_SERVANT), proposal, ANSWER, PARTLY)
    db.session.commit()
    results = feedback.judgement_results(proposal.id)["answer"]
    assert results["total"] == 10
    assert results["counts"] == {"satisfied": 5, "partly": 2, "not_satisfied": 3}
    # experts (3) and civil servants (2) never show on their own: added up as "other"
    assert results["by_category"] == {
        "citizen": {"satisfied": 5, "partly": 0, "not_satisfied": 0},
        "other": {"satisfied": 0, "partly": 2, "not_satisfied": 3},
    }
    assert results["small_groups"]["combined"] == ["expert", "civil_servant"]


def test_three_judgements_give_no_breakdown_by_category(app_ctx):
    proposal = answered_proposal()
    for value in (SATISFIED, SATISFIED, PARTLY):
        judgements.judge(make_user(), proposal, ANSWER, value)
    db.session.commit()
    results = feedback.judgement_results(proposal.id)["answer"]
    assert results["counts"]["satisfied"] == 2
    assert results["by_category"] == {}
    assert results["small_groups"]["withheld"] is True


def test_most_not_satisfied_contests_the_implementation(app_ctx):
    app_ctx.config.update(FEEDBACK_CONTESTED_SHARE=0.5, FEEDBACK_CONTESTED_MINIMUM=4)
    proposal = implement(answered_proposal())
    people = [make_user() for _ in range(5)]
    for person, value in zip(people[:3], (NOT, NOT, SATISFIED), strict=True):
        judgements.judge(person, proposal, IMPLEMENTATION, value)
    db.session.commit()
    assert not proposal.contested  # 3 judgements: under the site's minimum of 4
    judgements.judge(people[3], proposal, IMPLEMENTATION, PARTLY)
    db.session.commit()
    assert not proposal.contested  # 2 of 4: half is not most
    judgements.judge(people[4], proposal, IMPLEMENTATION, NOT)
    db.session.commit()
    assert proposal.contested  # 3 of 5
    # the answer's judgements never contest the implementation
    for person in people:
        judgements.judge(person, proposal, ANSWER, SATISFIED)
    db.session.commit()
    assert proposal.contested
    # a changed mind lifts the flag
    judgements.judge(people[0], proposal, IMPLEMENTATION, SATISFIED)
    db.session.commit()
    assert not proposal.contested
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.in_(["proposal.contested", "proposal.uncontested"]))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["proposal.contested", "proposal.uncontested"]


def _contested_proposal(app):
    app.config.update(FEEDBACK_CONTESTED_MINIMUM=2)
    proposal = implement(answered_proposal())
    for _ in range(2):
        judgements.judge(make_user(), proposal, IMPLEMENTATION, NOT)
    db.session.commit()
    assert proposal.contested
    return proposal


def test_a_facilitator_sends_a_contested_proposal_back_to_the_agenda(app_ctx):
    proposal = _contested_proposal(app_ctx)
    facilitator = make_user(Role.FACILITATOR)
    with pytest.raises(PermissionDenied):
        judgements.send_back_to_agenda(make_user(), proposal)
    item = judgements.send_back_to_agenda(facilitator, proposal)
    db.session.commit()
    assert item.state == ItemState.DRAFT
    assert item.division_id == proposal.division_id
    assert item.title == "Revisit: More benches"
    assert f"/proposals/{proposal.id}" in item.body
    assert proposal.sent_back_item_id == item.id
    last_step = queries.timeline(proposal)[-1]
    assert last_step.kind.value == "sent_back"
    assert f"(/agendas/{item.id})" in last_step.text
    with pytest.raises(IllegalTransition):
        judgements.send_back_to_agenda(facilitator, proposal)
    assert (
        db.session.scalar(select(func.count()).where(AuditEntry.action == "proposal.send_back"))
        == 1
    )


def test_an_uncontested_proposal_cannot_be_sent_back(app_ctx):
    proposal = implement(answered_proposal())
    with pytest.raises(IllegalTransition):
        judgements.send_back_to_agenda(make_user(Role.FACILITATOR), proposal)


def test_the_queue_filters_and_shows_the_current_steps_judgement(app_ctx):
    division = make_division()
    liked = answered_proposal(division, title="Liked")
    disliked = answered_proposal(division, title="Disliked")
    answered_proposal(division, title="Unjudged")
    for _ in range(3):
        judgements.judge(make_user(), liked, ANSWER, SATISFIED)
        judgements.judge(make_user(), disliked, ANSWER, NOT)
    db.session.commit()

    def titles(satisfaction):
        return sorted(p.title for p in queries.queue(satisfaction=satisfaction).items)

    assert titles("mostly_satisfied") == ["Liked"]
    assert titles("mostly_not") == ["Disliked"]
    assert titles("unjudged") == ["Unjudged"]
    assert titles("") == ["Disliked", "Liked", "Unjudged"]
    shown = feedback.queue_satisfaction([liked, disliked])
    assert shown[liked.id]["counts"]["satisfied"] == 3
    assert shown[disliked.id]["step"] == ANSWER and shown[disliked.id]["total"] == 3
    # once implemented, the queue judges by the implementation
    implement(liked)
    assert titles("mostly_satisfied") == []
    judgements.judge(make_user(), liked, IMPLEMENTATION, SATISFIED)
    db.session.commit()
    assert titles("mostly_satisfied") == ["Liked"]


def test_division_accountability_figures(app_ctx):
    from datetime import timedelta

    from deliberation.db import utcnow
    from deliberation.proposals import services

    division = make_division()
    on_time = answered_proposal(division)
    late = answered_proposal(division)
    late.responded_at = late.due_at + timedelta(days=2)
    late.created_at = late.responded_at - timedelta(days=40)
    overdue = services.create_proposal(
        title="Late", summary="", snapshot={}, division_id=division.id
    )
    overdue.due_at = utcnow() - timedelta(days=1)
    services.create_proposal(title="Fresh", summary="", snapshot={}, division_id=division.id)
    answered_proposal(make_division())  # another division's
    on_time.created_at = on_time.responded_at - timedelta(days=10)
    judgements.judge(make_user(), on_time, ANSWER, SATISFIED)
    judgements.judge(make_user(), late, ANSWER, NOT)
    db.session.commit()
    figures = feedback.division_accountability(division)
    assert figures["received"] == 4
    assert figures["answered"] == 2
    assert figures["answered_on_time"] == 1
    assert figures["answered_late"] == 1
    assert figures["overdue"] == 1
    assert figures["awaiting"] == 1
    assert figures["median_days_to_answer"] == 25.0
    assert figures["satisfaction"]["answer"]["counts"] == {
        "satisfied": 1,
        "partly": 0,
        "not_satisfied": 1,
    }
    csv_text = feedback.accountability_csv(figures)
    assert "answered_on_time,,1" in csv_text
    assert "judged_not_satisfied,answer,1" in csv_text
