"""Field-office staff in the room page: the "hall table you enter for" list follows the lead's
console live, as the lead makes a table mixed, hall or online again."""

import pytest
from playwright.sync_api import expect

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import RoundtableSession
from tests.browser.test_roundtables import open_as
from tests.factories import make_user
from tests.roundtables.helpers import build_session

pytestmark = pytest.mark.browser


def test_the_field_offices_hall_tables_follow_the_leads_console(app, live_server, new_page):
    with app.app_context():
        info = build_session(participants=12, facilitators=2, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        sessions.start_session(db.session.get(User, info["lead_id"]), session)
        lead_email = db.session.get(User, info["lead_id"]).email
        clerk_email = make_user(Role.FIELD_OFFICE, name="Field office").email
        db.session.commit()
        sid = session.id
    base = live_server.url
    office = open_as(new_page, base, clerk_email, f"/roundtables/{sid}/room")
    picker = office.locator("#rt-paper-table")
    expect(picker.locator("option")).to_have_text(["No hall tables yet."])
    expect(office.locator("#rt-paper")).to_be_hidden()

    lead = open_as(new_page, base, lead_email, f"/roundtables/{sid}/console")
    expect(lead.locator("#rt-kind-table option")).to_have_count(2)

    def set_kind(number: int, kind: str) -> None:
        lead.select_option("#rt-kind-table", label=f"Table {number}")
        lead.select_option("#rt-kind-kind", kind)
        lead.click("#rt-table-kind-form button[type=submit]")
        expect(lead.locator("#rt-action-status")).to_contain_text(f"Table {number} is now")

    set_kind(2, "mixed")
    expect(picker.locator("option")).to_have_text(["Table 2 · Mixed (hall and online)"])
    expect(office.locator("#rt-paper")).to_be_visible()
    expect(office.locator("#rt-paper-count")).to_have_text("0 paper participants at this table")
    set_kind(1, "mixed")  # online people sit there: "hall" is refused
    expect(picker.locator("option")).to_have_text(
        ["Table 1 · Mixed (hall and online)", "Table 2 · Mixed (hall and online)"]
    )
    # the table being entered for stays chosen; one that goes online gives way to the next
    expect(picker.locator("option:checked")).to_have_text("Table 2 · Mixed (hall and online)")
    set_kind(2, "online")
    expect(picker.locator("option")).to_have_text(["Table 1 · Mixed (hall and online)"])
    expect(picker.locator("option:checked")).to_have_text("Table 1 · Mixed (hall and online)")
    expect(office.locator("#rt-paper")).to_be_visible()
    set_kind(1, "online")
    expect(picker.locator("option")).to_have_text(["No hall tables yet."])
    expect(office.locator("#rt-paper")).to_be_hidden()
    assert office.script_errors == [] and lead.script_errors == []
