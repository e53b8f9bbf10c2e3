"""The demo seeds ballots and proposals in every stage; the benchmark runs and prints JSON."""

import json

from sqlalchemy import select

from deliberation.demo import seed_demo
from deliberation.extensions import db
from deliberation.proposals.models import Proposal, ProposalState
from deliberation.voting.models import Ballot, BallotState


def test_demo_seed_has_an_open_ballot_and_proposals_in_review_and_implemented(app, client):
    with app.app_context():
        seed_demo()
        db.session.commit()
        states = sorted(b.state.value for b in db.session.scalars(select(Ballot)))
        assert states == ["closed", "closed", "open"]
        proposals = {p.state: p for p in db.session.scalars(select(Proposal))}
        assert set(proposals) == {ProposalState.UNDER_REVIEW, ProposalState.IMPLEMENTED}
        implemented = proposals[ProposalState.IMPLEMENTED]
        assert len(implemented.events) == 5 and implemented.response
        open_id = db.session.scalar(select(Ballot.id).where(Ballot.state == BallotState.OPEN))
        closed_id = db.session.scalar(select(Ballot.id).where(Ballot.state == BallotState.CLOSED))
        implemented_id = implemented.id
    assert client.get(f"/voting/{open_id}").status_code == 200
    assert client.get(f"/voting/{closed_id}/receipts").status_code == 200
    assert client.get(f"/proposals/{implemented_id}").status_code == 200
    assert client.get("/proposals/").status_code == 200
    assert client.get("/voting/").status_code == 200


def test_votes_benchmark_prints_json_last(runner):
    result = runner.invoke(args=["bench", "votes", "--voters", "300"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["voters"] == 300
    assert figures["cast_per_s"] > 0 and figures["tally_ms"] > 0
