"""A table's room names its facilitator live: when the lead takes the role away or gives it
to someone (people page), everyone at the table reads the new state without a reload."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, save_screenshot
from tests.browser.test_staffing import PHONE, open_as, seed
from tests.roundtables.helpers import table_facilitator

pytestmark = pytest.mark.browser


def test_the_room_shows_a_new_facilitator_without_a_reload(app, live_server, new_page):
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    with app.app_context():
        facilitator = table_facilitator(sid)
        pid, name = facilitator.id, facilitator.user.display_name
    room = open_as(new_page, base, info["mover"], f"/roundtables/{sid}/room", PHONE)
    expect(room.locator("#rt-seat")).to_have_text("You are at table 1.")
    expect(room.locator("#rt-facilitator")).to_have_text(f"Your table facilitator: {name}")

    lead = open_as(new_page, base, info["lead"], f"/roundtables/{sid}/people")

    def give(role: str) -> None:
        lead.check(f"input[name=participant_ids][value='{pid}']")
        lead.select_option("#action", role)
        lead.click("#bulk-form button[type=submit]")
        expect(lead.locator(".flash-success")).to_contain_text("Done for 1 person.")

    give("participant")
    expect(room.locator("#rt-facilitator")).to_have_text(
        "Your table has no facilitator yet; the lead facilitator is told."
    )
    assert_accessible(room)
    save_screenshot(room, "room-facilitator-gone-390-en")
    give("table_facilitator")
    expect(room.locator("#rt-facilitator")).to_have_text(f"Your table facilitator: {name}")
    expect(room.locator("#rt-seat")).to_have_text("You are at table 1.")
    assert room.script_errors == [] and lead.script_errors == []
