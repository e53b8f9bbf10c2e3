"""A ballot's times are typed and shown in the site's time zone (Asia/Seoul by default), named."""

from datetime import UTC, datetime

from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.db import as_utc
from deliberation.extensions import db
from deliberation.voting.models import Ballot
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.voting.support import make_item


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
