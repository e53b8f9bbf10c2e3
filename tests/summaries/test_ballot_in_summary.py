"""The summary shows the item's ballot: turnout while open, counts by group once closed."""

from deliberation.accounts.models import MemberCategory, User
from deliberation.extensions import db
from deliberation.voting import services as voting_services
from tests.voting.support import make_ballot, make_crowd, make_item


def test_summary_shows_turnout_while_open_and_the_breakdown_after_close(app, client):
    with app.app_context():
        item = make_item()
        ballot = make_ballot(item)
        ballot_id, item_id = ballot.id, item.id
        citizens = make_crowd(6, category=MemberCategory.CITIZEN)
        experts = make_crowd(2, category=MemberCategory.EXPERT)
        welfare = make_crowd(5, category=MemberCategory.WELFARE_ORGANISATION)
        for n, voter_id in enumerate(citizens + experts + welfare):
            voter = db.session.get(User, voter_id)
            choice = "yes" if n < 5 else "no"
            voting_services.cast_vote(ballot_id, voter, choice, client_id=f"summary-{voter_id}")
            db.session.commit()

    open_json = client.get(f"/summaries/items/{item_id}/summary.json").json
    assert open_json["ballot"]["voted"] == 13
    assert open_json["ballot"]["counts"] is None  # no counts before the close
    assert "Results are shown when the ballot closes." in client.get(
        f"/summaries/items/{item_id}"
    ).get_data(as_text=True)

    with app.app_context():
        voting_services.close_ballot(voting_services.queries.get_ballot(ballot_id))
        db.session.commit()

    closed = client.get(f"/summaries/items/{item_id}/summary.json").json["ballot"]
    assert closed["state"] == "closed"
    assert closed["counts"] == {"yes": 5, "no": 8, "abstain": 0}
    by_category = {row["key"]: row for row in closed["by_category"]}
    assert by_category["citizen"]["counts"] == {"yes": 5, "no": 1}
    assert by_category["expert"]["counts"] is None  # two voters: turnout only
    # and the next smallest, else the total minus the others would be the experts' choices
    assert by_category["welfare_organisation"]["counts"] is None
    assert by_category["welfare_organisation"]["voted"] == 5
    page = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "Votes by option, overall and by member category" in page
    assert f"/voting/{ballot_id}" in page
    assert "so does the next smallest member category" in page
    ballot_page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert "Hidden: fewer than 5 voters" in ballot_page
    assert "Hidden: with the total, it would reveal a smaller group" in ballot_page
    korean = client.get(f"/voting/{ballot_id}", headers={"Accept-Language": "ko"}).text
    assert "비공개: 전체 집계와 함께 보면 더 작은 집단이 드러남" in korean


def test_adoption_freezes_the_consensus_summary_on_the_proposal(app, client):
    from sqlalchemy import select

    from deliberation.agendas import services as agenda_services
    from deliberation.proposals.models import Proposal

    with app.app_context():
        item = make_item()
        item_id = item.id
        author = item.author
        comment_ids = [
            agenda_services.post_comment(author, item_id, f"Statement {n}", client_id=f"stmt-{n}")[
                0
            ].id
            for n in range(3)
        ]
        db.session.commit()
        ballot = make_ballot(item)
        ballot_id = ballot.id
        voters = make_crowd(12)
        for voter_id in voters:
            voter = db.session.get(User, voter_id)
            for comment_id in comment_ids:
                agenda_services.react(voter, comment_id, "agree")
            voting_services.cast_vote(ballot_id, voter, "yes", client_id=f"adopt-vote-{voter_id}")
            db.session.commit()
        voting_services.close_ballot(voting_services.queries.get_ballot(ballot_id))
        db.session.commit()
        proposal = db.session.scalar(select(Proposal).where(Proposal.item_id == item_id))
        frozen = proposal.snapshot["consensus"]
        assert frozen["participation"]["participants"] >= 12
        assert len(frozen["consensus_agree"]) >= 1
        proposal_id = proposal.id
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "The live consensus summary of the item" in page
    assert f"/summaries/items/{item_id}" in page
