"""The profile's time zone on a phone, in Korean and English: a labelled select (the site's
zone, then Asia/Seoul first), saved and used for the times the person reads; axe-clean."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from deliberation.extensions import db
from deliberation.roundtables.models import RoundtableSession
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.roundtables.helpers import build_session

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_person_chooses_a_time_zone_on_the_profile(app, live_server, new_page, language):
    with app.app_context():
        info = build_session(participants=1, facilitators=0)
        session = db.session.get(RoundtableSession, info["session_id"])
        session.starts_at = datetime(2026, 12, 5, 1, 27, tzinfo=UTC)
        make_user(email="mia@example.org", language=language)
        db.session.commit()
        sid = session.id
    page = new_page(viewport=PHONE)
    browser_login(page, live_server.url, "mia@example.org", PASSWORD)
    page.goto(live_server.url + "/profile")
    zone = page.locator("#timezone")
    expect(zone).to_have_value("")
    expect(zone.locator("option").nth(1)).to_have_attribute("value", "Asia/Seoul")
    label = {"ko": "시간대", "en": "Time zone"}[language]
    expect(page.get_by_label(label, exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    save_screenshot(page, f"profile-timezone-390-{language}")
    zone.select_option("Europe/Berlin")
    page.click("form.stack button[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#timezone")).to_have_value("Europe/Berlin")
    page.goto(f"{live_server.url}/roundtables/{sid}")
    expect(page.locator("main")).to_contain_text("2026-12-05 02:27")
    assert page.script_errors == []
