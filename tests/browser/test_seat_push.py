"""The room is seated and each waiting page learns its table from the server's push, in real
Chromium: a citizen on a 390 px phone (in Korean) and one on a laptop wait in the lobby, the
lead seats the room from the console, both pages show their tables and neither sends a `join`
after the seating (a room of 10,000 asking at once took the servers 41 s)."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.models import Participant
from tests.browser.conftest import browser_login, save_screenshot
from tests.browser.test_rehearsal_payloads import record_sent_events
from tests.browser.test_roundtables import open_as
from tests.factories import PASSWORD
from tests.roundtables.helpers import build_session

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def count_joins_when_settled(page, sent, expected: list[int]) -> list[int]:
    """The `join` frames each page has sent, waiting up to 2 s for them to reach `expected`:
    Playwright hands a sent frame to Python a moment after the page has acted on its answer."""
    counts = [sum(name == "join" for name, _ in events) for events in sent]
    for _ in range(20):
        if counts == expected:
            break
        page.wait_for_timeout(100)
        counts = [sum(name == "join" for name, _ in events) for events in sent]
    return counts


def test_waiting_pages_get_their_seats_pushed_without_asking(app, live_server, new_page):
    with app.app_context():
        info = build_session(participants=12, facilitators=2, table_size=6)
        minsu = db.session.get(User, info["people"][0])
        minsu.preferred_language = "ko"
        db.session.commit()
        emails = [db.session.get(User, uid).email for uid in info["people"][:2]]
        lead_email = db.session.get(User, info["lead_id"]).email
    base, sid = live_server.url, info["session_id"]
    pages, sent = [], []
    for email, viewport in zip(emails, (PHONE, None), strict=True):
        page = new_page(viewport=viewport)
        sent.append(record_sent_events(page))
        browser_login(page, base, email, PASSWORD)
        page.goto(f"{base}/roundtables/{sid}/room")
        pages.append(page)
    phone, laptop = pages
    # The seat line is in the served page; "connected" shows only once the join is answered.
    expect(phone.locator("#rt-connection")).to_have_text("연결되었습니다.")
    expect(laptop.locator("#rt-connection")).to_have_text("Connected.")
    expect(laptop.locator("#rt-seat")).to_have_text(
        "You will get a seat when the lead facilitator seats the room."
    )
    save_screenshot(phone, "seat-push-phone-ko-waiting")
    joins_before = count_joins_when_settled(laptop, sent, expected=[1, 1])
    assert joins_before == [1, 1]

    lead = open_as(new_page, base, lead_email, f"/roundtables/{sid}/console")
    lead.click("[data-action=seat_room]")
    expect(lead.locator("#rt-action-status")).to_contain_text("The room is seated")
    with app.app_context():
        numbers = {
            p.user_id: p.table.number
            for p in db.session.scalars(select(Participant).where(Participant.session_id == sid))
            if p.table is not None
        }
    expect(phone.locator("#rt-seat")).to_have_text(
        f"{numbers[info['people'][0]]}번 테이블에 앉아 있습니다."
    )
    expect(laptop.locator("#rt-seat")).to_have_text(
        f"You are at table {numbers[info['people'][1]]}."
    )
    save_screenshot(phone, "seat-push-phone-ko-seated")
    save_screenshot(laptop, "seat-push-laptop-en-seated")
    laptop.wait_for_timeout(500)  # a join sent on the seating broadcast would be here by now
    assert [sum(name == "join" for name, _ in events) for events in sent] == joins_before
    for page in pages:
        assert page.script_errors == []
