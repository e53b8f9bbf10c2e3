"""Per-person time zone: chosen on the profile (Seoul first), used for every time on the site;
no choice, or a guest, reads the site's DEFAULT_TIMEZONE."""

import re
from datetime import UTC, datetime

from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.models import RoundtableSession
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.roundtables.helpers import build_session

STARTS = datetime(2026, 12, 5, 1, 27, tzinfo=UTC)  # Seoul 10:27, Berlin 02:27, New York 20:27


def session_starting_at_0127(app) -> int:
    with app.app_context():
        info = build_session(participants=1, facilitators=0)
        session = db.session.get(RoundtableSession, info["session_id"])
        session.starts_at = STARTS
        make_user(email="berlin@example.org", language="en")
        db.session.commit()
        return session.id


def save_profile(client, **changes) -> None:
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    form = {"display_name": "Mia", "preferred_language": "en", "member_category": "citizen"}
    client.post("/profile", data={**form, "csrf_token": token, **changes})


def test_a_person_reads_times_in_the_zone_chosen_on_the_profile(app, client, auth):
    sid = session_starting_at_0127(app)
    auth.login("berlin@example.org")
    page = client.get(f"/roundtables/{sid}").text
    assert "2026-12-05 10:27 (South Korea Time)" in page  # no choice yet: the site's zone

    profile = client.get("/profile").text
    zones = re.findall(r'<option[^>]*value="([^"]*)"', profile.split('id="timezone"')[1])
    assert zones[:3] == ["", "Asia/Seoul", "Asia/Tokyo"]  # the site's zone, then Seoul first
    assert "Site default: South Korea Time (Asia/Seoul)" in profile

    save_profile(client, timezone="Europe/Berlin")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "berlin@example.org"))
        assert user.timezone == "Europe/Berlin"
    page = client.get(f"/roundtables/{sid}").text
    assert "2026-12-05 02:27 (Germany (Berlin) Time)" in page and "10:27" not in page
    assert re.search(r'<option selected value="Europe/Berlin">', client.get("/profile").text)

    # A guest still reads the site's zone.
    auth.logout()
    assert "2026-12-05 10:27 (South Korea Time)" in client.get(f"/roundtables/{sid}").text


def test_an_unknown_zone_is_refused_and_the_site_zone_can_be_chosen_again(app, client, auth):
    sid = session_starting_at_0127(app)
    auth.login("berlin@example.org")
    save_profile(client, timezone="Mars/Olympus_Mons")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "berlin@example.org"))
        assert user.timezone is None
    save_profile(client, timezone="America/New_York")
    assert "2026-12-04 20:27 (" in client.get(f"/roundtables/{sid}").text
    save_profile(client, timezone="")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "berlin@example.org"))
        assert user.timezone is None
    assert "2026-12-05 10:27 (South Korea Time)" in client.get(f"/roundtables/{sid}").text
