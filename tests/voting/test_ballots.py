"""Opening ballots, their rules and states, and closing on time into adoption or not."""

from datetime import timedelta

import pytest

from deliberation.accounts.models import Role
from deliberation.agendas.models import ItemState
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals.models import Proposal, ProposalState
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot, BallotState
from tests.factories import make_division, make_user
from tests.voting.support import make_ballot, make_crowd, make_due, make_item


def _vote_all(ballot, ids, choices):
    from deliberation.accounts.models import User

    for n, (uid, choice) in enumerate(zip(ids, choices, strict=False)):
        services.cast_vote(ballot.id, db.session.get(User, uid), choice, f"client-{ballot.id}-{n}")
        db.session.commit()


def test_facilitator_opens_a_default_ballot_and_item_moves_to_voting(app_ctx):
    item = make_item()
    ballot = make_ballot(item)
    assert ballot.state == BallotState.OPEN
    assert item.state == ItemState.VOTING
    assert ballot.option_keys == ["yes", "no", "abstain"]
    with app_ctx.test_request_context():
        assert ballot.labelled_options()[0] == ("yes", "Yes")
    assert db.session.query(AuditEntry).filter_by(action="ballot.open").count() == 1


def test_a_citizen_cannot_open_a_ballot(app_ctx):
    item = make_item()
    with pytest.raises(PermissionDenied):
        make_ballot(item, facilitator=make_user())
    db.session.rollback()
    assert db.session.query(Ballot).count() == 0


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"custom_options": ["Only one"]}, "too_few_options"),
        ({"custom_options": ["Same", "same"]}, "duplicate_options"),
        ({"custom_options": [f"o{n}" for n in range(11)]}, "too_many_options"),
        ({"quorum_percent": 101}, "bad_quorum"),
        ({"threshold_percent": 100}, "bad_threshold"),
        ({"closes_at": utcnow() - timedelta(minutes=5)}, "bad_times"),
    ],
)
def test_bad_ballot_settings_are_refused(app_ctx, kwargs, code):
    item = make_item()
    with pytest.raises(DomainError) as info:
        make_ballot(item, **kwargs)
    assert info.value.code == code
    db.session.rollback()
    assert db.session.query(Ballot).count() == 0


def test_one_ballot_per_item_and_only_items_in_discussion(app_ctx):
    item = make_item()
    make_ballot(item)
    with pytest.raises(DomainError):
        make_ballot(item)
    db.session.rollback()
    draft = make_item(state=ItemState.DRAFT)
    with pytest.raises(IllegalTransition):
        make_ballot(draft)


def test_scheduled_ballot_opens_on_time(app_ctx):
    now = utcnow()
    ballot = make_ballot(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(hours=2))
    assert ballot.state == BallotState.SCHEDULED
    assert services.open_due_ballots() == []
    db.session.execute(
        db.update(Ballot).where(Ballot.id == ballot.id).values(opens_at=now - timedelta(seconds=1))
    )
    db.session.commit()
    assert [b.id for b in services.open_due_ballots()] == [ballot.id]
    db.session.commit()
    assert db.session.get(Ballot, ballot.id).state == BallotState.OPEN


def _expire(ballot):
    make_due(ballot.id)
    db.session.refresh(ballot)


def test_due_ballot_closes_adopted_and_enters_the_queue(app_ctx):
    ballot = make_ballot(quorum_percent=50)
    ids = make_crowd(6)
    _vote_all(ballot, ids, ["yes", "yes", "yes", "no", "abstain"])
    _expire(ballot)
    closed = services.close_due_ballots()
    db.session.commit()
    assert [b.id for b in closed] == [ballot.id]
    assert ballot.state == BallotState.CLOSED
    assert ballot.item.state == ItemState.ADOPTED
    assert ballot.result["counts"] == {"yes": 3, "no": 1, "abstain": 1}
    assert ballot.result["adopted"] is True
    proposal = db.session.query(Proposal).one()
    assert proposal.item_id == ballot.item_id
    assert proposal.state == ProposalState.QUEUED
    assert proposal.snapshot["tally"]["counts"]["yes"] == 3
    assert proposal.snapshot["discussion"] == {
        "comments": 0,
        "participants": 0,
        "reactions": {"agree": 0, "disagree": 0, "pass": 0},
    }
    # closing again changes nothing
    assert services.close_due_ballots() == []
    with pytest.raises(IllegalTransition):
        services.close_ballot(ballot)


def test_quorum_not_met_means_not_adopted(app_ctx):
    ballot = make_ballot(quorum_percent=90)
    ids = make_crowd(10)
    _vote_all(ballot, ids[:3], ["yes", "yes", "yes"])
    _expire(ballot)
    services.close_due_ballots()
    db.session.commit()
    assert ballot.result["quorum_met"] is False
    assert ballot.result["threshold_met"] is True
    assert ballot.item.state == ItemState.NOT_ADOPTED
    assert db.session.query(Proposal).count() == 0


def test_a_tie_does_not_exceed_the_threshold(app_ctx):
    ballot = make_ballot()
    ids = make_crowd(4)
    _vote_all(ballot, ids, ["yes", "no", "yes", "no"])
    _expire(ballot)
    services.close_due_ballots()
    db.session.commit()
    assert ballot.result["leading_share_percent"] == 50.0
    assert ballot.item.state == ItemState.NOT_ADOPTED


def test_custom_options_adopt_a_clear_winner(app_ctx):
    ballot = make_ballot(custom_options=["Bus", "Tram", "Bicycle"])
    assert ballot.labelled_options() == [
        ("option-1", "Bus"),
        ("option-2", "Tram"),
        ("option-3", "Bicycle"),
    ]
    ids = make_crowd(5)
    _vote_all(ballot, ids, ["option-2", "option-2", "option-2", "option-1", "option-3"])
    _expire(ballot)
    services.close_due_ballots()
    db.session.commit()
    assert ballot.result["winner"] == "option-2"
    assert ballot.item.state == ItemState.ADOPTED


def test_close_due_ballots_command(app, runner):
    with app.app_context():
        ballot = make_ballot()
        ids = make_crowd(2)
        _vote_all(ballot, ids, ["yes", "yes"])
        _expire(ballot)
        ballot_id = ballot.id
    result = runner.invoke(args=["close-due-ballots"])
    assert result.exit_code == 0, result.output
    assert f"ballot {ballot_id}: adopted" in result.output
    with app.app_context():
        assert db.session.get(Ballot, ballot_id).state == BallotState.CLOSED


def test_periodic_job_closes_due_ballots(app):
    from deliberation.core.scheduler import run_due_jobs_once

    with app.app_context():
        ballot = make_ballot()
        _expire(ballot)
        ballot_id = ballot.id
    run_due_jobs_once(app, {})
    with app.app_context():
        assert db.session.get(Ballot, ballot_id).state == BallotState.CLOSED


def test_restricted_ballot_counts_only_division_members_as_eligible(app_ctx):
    elderly = make_division()
    other = make_division()
    make_crowd(3, division=elderly)
    make_crowd(4, division=other)
    ballot = make_ballot(division_ids=[elderly.id])
    assert queries.eligible_count(ballot) == 3
    assert not queries.is_eligible(ballot, make_user(divisions=[other]))
    assert queries.is_eligible(ballot, make_user(divisions=[elderly]))
    assert make_user(Role.ADMIN).is_admin
