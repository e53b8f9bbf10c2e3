"""A ballot's times are typed and shown in the site's time zone (Asia/Seoul by default), named."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.db import as_utc
from deliberation.extensions import db
from deliberation.voting.models import Ballot, BallotState
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.voting.support import make_ballot, make_item


def test_ballot_times_are_typed_and_shown_in_seoul_time(app, client, auth):
    with app.app_context():
        item_id = make_item(title="Night buses").id
        make_user(Role.FACILITATOR, email="fac@example.org")
    auth.login("fac@example.org")
    page = client.get(f"/voting/new?item_id={item_id}").text
    assert "Opens at (South Korea Time)" in page and "(UTC)" not in page
    response = client.post(
        "/voting/new",
        data={"csrf_token": csrf_token_from(page), "item_id": str(item_id),
              "opens_at": "2026-12-05T09:00", "closes_at": "2099-12-07T18:30",
              "custom_options": "", "quorum_percent": "10", "threshold_percent": "50"},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        ballot = db.session.scalar(select(Ballot))
        assert as_utc(ballot.opens_at) == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
        assert as_utc(ballot.closes_at) == datetime(2099, 12, 7, 9, 30, tzinfo=UTC)
    shown = client.get(response.location).text
    assert "2099-12-07 18:30 (South Korea Time)" in shown


def _ballots_in_each_state() -> None:
    """A scheduled, an open and a closed ballot, with times that are easy to read in Seoul."""
    scheduled, running, closed = (make_ballot(make_item(title=t)) for t in ("S", "O", "C"))
    scheduled.state = BallotState.SCHEDULED
    scheduled.opens_at = datetime(2099, 12, 8, 0, 0)  # 09:00 in Seoul
    running.closes_at = datetime(2099, 12, 7, 9, 30)  # 18:30 in Seoul
    closed.state = BallotState.CLOSED
    closed.closes_at = datetime(2026, 12, 7, 9, 0)
    closed.closed_at = datetime(2026, 12, 6, 15, 53)  # closed early: 00:53 on 7 December
    db.session.commit()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            (
                "Scheduled</span>\n    opens 2099-12-08 09:00 (South Korea Time)",
                "Open</span>\n    closes 2099-12-07 18:30 (South Korea Time)",
                "Closed</span>\n    2026-12-07 00:53 (South Korea Time)",
            ),
        ),
        (
            "ko",
            (
                "예정</span>\n    2099-12-08 09:00",
                "진행 중</span>\n    2099-12-07 18:30",
                "마감됨</span>\n    2026-12-07 00:53",
            ),
        ),
    ],
)
def test_ballot_list_says_when_each_ballot_opens_closes_or_closed(
    app, client, auth, language, expected
):
    with app.app_context():
        _ballots_in_each_state()
        make_user(email="reader@example.org", language=language)
    auth.login("reader@example.org")
    page = client.get("/voting/").text
    for words in expected:
        assert words in page
    assert "Closed</span>\n    closes" not in page and "마감 마감" not in page
    if language == "ko":
        assert "2099-12-08 09:00 (대한민국 시간) 시작" in page
        assert "2099-12-07 18:30 (대한민국 시간) 마감" in page
