"""Races with real threads, each with its own app context, session and database connection."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.core.errors import DomainError
from deliberation.extensions import db
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot, Vote, VoteCast
from tests.factories import make_user
from tests.voting.support import close_now, make_ballot, make_crowd

ROUNDS = 3


def _cast_in_own_connection(app, barrier, ballot_id, voter_id, choice, client_id):
    """One request: its own app context (session, pooled connection), commit, then answer."""
    barrier.wait()
    with app.app_context():
        try:
            voter = db.session.get(User, voter_id)
            result = services.cast_vote(ballot_id, voter, choice, client_id)
            db.session.commit()
            return result
        except DomainError as error:
            db.session.rollback()
            return error
        finally:
            db.session.remove()


def _run_at_once(app, jobs, workers):
    # These races are about the database; one person's 200 casts would otherwise meet the
    # per-person rate limit that cast_vote applies (tested in test_casting.py).
    app.config["VOTE_LIMIT"] = f"{len(jobs)}/minute"
    barrier = threading.Barrier(min(workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_cast_in_own_connection, app, barrier, *job) for job in jobs]
        return [future.result(timeout=120) for future in futures]


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_200_simultaneous_casts_by_one_person_leave_one_vote(app, round_no):
    with app.app_context():
        ballot_id = make_ballot().id
        voter_id = make_user().id
    choices = ["yes", "no", "abstain"]
    jobs = [
        (ballot_id, voter_id, choices[n % 3], f"same-person-{round_no}-{n:04d}") for n in range(200)
    ]
    results = _run_at_once(app, jobs, workers=40)
    assert not [r for r in results if isinstance(r, Exception)], results[:3]
    with app.app_context():
        votes = db.session.execute(select(Vote.choice, Vote.receipt)).all()
        assert len(votes) == 1
        assert votes[0].receipt in {r.receipt for r in results}
        assert db.session.scalar(select(func.count()).select_from(VoteCast)) == 200
        assert queries.recount_from_receipts(db.session.get(Ballot, ballot_id)) == {
            "yes": int(votes[0].choice == "yes"),
            "no": int(votes[0].choice == "no"),
            "abstain": int(votes[0].choice == "abstain"),
        }


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_200_simultaneous_retries_of_one_request_give_one_answer(app, round_no):
    with app.app_context():
        ballot_id = make_ballot().id
        voter_id = make_user().id
    jobs = [(ballot_id, voter_id, "yes", f"one-request-{round_no}")] * 200
    results = _run_at_once(app, jobs, workers=40)
    assert len({r.receipt for r in results}) == 1
    assert sorted({r.status for r in results}) == ["cast", "replayed"]
    assert [r.status for r in results].count("cast") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Vote)) == 1


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_1000_distinct_voters_at_once_give_an_exact_tally(app, round_no):
    with app.app_context():
        ballot_id = make_ballot().id
        voter_ids = make_crowd(1000)
    choices = ["yes", "yes", "no", "abstain"]
    jobs = [
        (ballot_id, uid, choices[n % 4], f"crowd-{round_no}-{uid}")
        for n, uid in enumerate(voter_ids)
    ]
    results = _run_at_once(app, jobs, workers=50)
    assert not [r for r in results if isinstance(r, Exception)], results[:3]
    assert len({r.receipt for r in results}) == 1000
    with app.app_context():
        ballot = db.session.get(Ballot, ballot_id)
        assert queries.tally(ballot)["counts"] == {"yes": 500, "no": 250, "abstain": 250}
        close_now(ballot_id)
        db.session.refresh(ballot)
        assert queries.recount_from_receipts(ballot) == ballot.result["counts"]
        assert ballot.result["voted"] == 1000


def test_casts_racing_the_close_never_land_after_the_tally(app):
    with app.app_context():
        ballot_id = make_ballot().id
        voter_ids = make_crowd(300)
    stop_casting = threading.Event()

    def close_midway():
        with app.app_context():
            while db.session.scalar(select(func.count()).select_from(Vote)) < 100:
                db.session.rollback()
            db.session.rollback()
            services.close_ballot(db.session.get(Ballot, ballot_id))
            db.session.commit()
            db.session.remove()
        stop_casting.set()

    closer = threading.Thread(target=close_midway)
    closer.start()
    jobs = [(ballot_id, uid, "yes", f"race-close-{uid}") for uid in voter_ids]
    results = _run_at_once(app, jobs, workers=20)
    closer.join(60)
    assert stop_casting.is_set()
    refused = [r for r in results if isinstance(r, DomainError)]
    assert all(r.code == "closed" for r in refused)
    with app.app_context():
        ballot = db.session.get(Ballot, ballot_id)
        assert ballot.result["voted"] == 300 - len(refused)
        assert queries.recount_from_receipts(ballot) == ballot.result["counts"]
