"""Breakdowns by member category count verified categories, and the summary and its exports say
how many voters of each category were verified and how many requests still wait."""

from sqlalchemy import select

from deliberation.accounts import categories
from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.extensions import db
from deliberation.voting import services as voting
from tests.factories import make_user
from tests.voting.support import make_ballot, make_crowd, make_item

NOTE = "Categories other than citizen are confirmed by an administrator; 1 person with a pending"


def test_summary_json_csv_and_page_state_verified_categories(app, client):
    with app.app_context():
        item = make_item()
        ballot = make_ballot(item)
        item_id, ballot_id = item.id, ballot.id
        admin = make_user(Role.ADMIN)
        experts = make_crowd(2, category=MemberCategory.EXPERT)
        claimant = make_user(email="claims@example.org")
        categories.choose_category(claimant, MemberCategory.CIVIL_SERVANT)  # still pending
        confirmed = make_user(email="confirmed@example.org")
        request = categories.choose_category(confirmed, MemberCategory.WELFARE_ORGANISATION)
        db.session.commit()
        # Votes before the confirmation stay a citizen's; the confirmation is not retroactive.
        voting.cast_vote(ballot_id, confirmed, "no", "cat-confirmed-1")
        categories.confirm_request(admin, request)
        for voter_id in experts:
            expert = db.session.get(User, voter_id)
            voting.cast_vote(ballot_id, expert, "yes", f"cat-voter-{voter_id}")
        voting.cast_vote(ballot_id, claimant, "yes", "cat-claimant-1")
        db.session.commit()

    block = client.get(f"/summaries/items/{item_id}/summary.json").json["categories"]
    assert block["ballot_voters_by_category"] == {
        "citizen": 2,
        "welfare_organisation": 0,
        "expert": 2,
        "civil_servant": 0,
    }
    assert block["verified"] == 2
    assert block["pending_requests_counted_as_citizens"] == 1
    csv_text = client.get(f"/summaries/items/{item_id}/categories.csv").get_data(as_text=True)
    assert csv_text.splitlines() == [
        "member_category,ballot_voters,verified,pending_requests_counted_as_citizens",
        "citizen,2,default,1",
        "welfare_organisation,0,yes,",
        "expert,2,yes,",
        "civil_servant,0,yes,",
    ]
    page = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "2 voters took part under a verified category other than citizen: Expert 2." in page
    assert "1 voter with a pending request was counted as a citizen." in page
    assert "Each vote keeps the category it was cast under" in page
    assert NOTE in page
    korean = client.get(f"/summaries/items/{item_id}", headers={"Accept-Language": "ko"}).text
    assert "시민 이외의 구분은 관리자가 확인합니다" in korean


def test_every_breakdown_page_says_which_categories_are_verified(app, client):
    with app.app_context():
        person = make_user()
        categories.choose_category(person, MemberCategory.EXPERT)
        ballot = make_ballot()
        db.session.commit()
        ballot_id = ballot.id
        voting.close_ballot(ballot)
        db.session.commit()
        assert db.session.scalar(select(User.member_category).where(User.id == person.id)) == (
            MemberCategory.CITIZEN
        )
    assert NOTE in client.get("/participation").get_data(as_text=True)
    assert NOTE in client.get(f"/voting/{ballot_id}").get_data(as_text=True)
