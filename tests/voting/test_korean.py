"""Ballot, receipts, queue and proposal pages speak Korean to a Korean reader."""

from tests.factories import make_user
from tests.proposals.test_queue import adopted_proposal
from tests.voting.support import make_ballot


def test_pages_in_korean(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        proposal = adopted_proposal(voters=2)
        proposal_id, closed_ballot_id = proposal.id, proposal.snapshot["ballot_id"]
        make_user(email="ko@example.org", language="ko")
    auth.login("ko@example.org")
    ballot = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert "투표하기" in ballot and "찬성" in ballot and "기권" in ballot and "투표율" in ballot
    receipts = client.get(f"/voting/{closed_ballot_id}/receipts").get_data(as_text=True)
    assert "재집계가 공개된 집계와 일치합니다." in receipts
    queue = client.get("/proposals/").get_data(as_text=True)
    assert "공무원 검토 대기열" in queue and "대기" in queue
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "진행 기록" in page and "공무원 검토 대기열에 올라감" in page
    assert "알림" in client.get("/proposals/notifications").get_data(as_text=True)
