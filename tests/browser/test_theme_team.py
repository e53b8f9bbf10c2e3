"""The theme team's page in Chromium: each theme's ideas, adding and taking out an idea by
keyboard, a merge that asks first and can be undone, empty states, and the warning when a
theme's name repeats an agenda item linked to the session."""

import pytest
from playwright.sync_api import expect

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import models, sessions, tables
from deliberation.roundtables.models import RoundtableSession
from tests.agendas.helpers import make_item
from tests.browser.conftest import assert_accessible, save_screenshot
from tests.browser.test_roundtables import open_as
from tests.factories import make_user
from tests.roundtables.helpers import build_session, cid, table_facilitator

pytestmark = pytest.mark.browser

IDEAS = ("Benches in parks", "Longer library hours", "Night buses")


def seed_synthesis(app) -> dict:
    """A session in theme synthesis with three submitted ideas and a linked agenda item."""
    with app.app_context():
        info = build_session(participants=6, facilitators=1, table_size=7)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        item = make_item(make_user(), session.division, title="Shade in parks")
        db.session.execute(
            models.session_agenda_items.insert().values(
                session_id=session.id, agenda_item_id=item.id
            )
        )
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, models.Phase.DISCUSSION)
        seat = table_facilitator(session.id)
        for text in IDEAS:
            tables.add_idea(session, seat, seat.table_id, text, cid())
        sessions.set_phase(lead, session, models.Phase.SUBMISSIONS)
        tables.submit_ideas(session, seat, seat.table_id)
        sessions.set_phase(lead, session, models.Phase.SYNTHESIS)
        db.session.commit()
        return {"sid": session.id, "lead": lead.email}


def test_theme_team_edits_ideas_merges_and_undoes(app, live_server, new_page):
    seed = seed_synthesis(app)
    page = open_as(new_page, live_server.url, seed["lead"], f"/roundtables/{seed['sid']}/themes")
    expect(page.locator("#rt-incoming li")).to_have_count(3)
    expect(page.locator("#rt-undo")).to_be_hidden()
    expect(page.locator("#rt-themes-empty")).to_be_visible()
    expect(page.locator("#rt-themes-empty")).to_contain_text("Tick the ideas")

    def create(name: str, idea: str) -> None:
        page.get_by_label(idea).check()
        page.fill("#rt-theme-name", name)
        page.click("#rt-theme-form button[type=submit]")
        expect(page.locator("#rt-theme-list")).to_contain_text(name)

    create("Shade in parks!", IDEAS[0])
    create("Reading", IDEAS[1])
    expect(page.locator("#rt-themes-empty")).to_be_hidden()
    first, second = page.locator(".rt-theme").nth(0), page.locator(".rt-theme").nth(1)
    # The ideas of each theme are listed; a name like a linked agenda item is flagged.
    expect(first.locator(".rt-theme-ideas")).to_contain_text(IDEAS[0])
    expect(first.locator(".rt-warning")).to_contain_text("Shade in parks")
    expect(second.locator(".rt-warning")).to_have_count(0)

    # Add the last idea to "Reading" by keyboard: the select has no choice made for you.
    add = second.locator("select[id^=add-]")
    expect(add).to_have_value("")
    add.focus()
    add.select_option(label=f"{IDEAS[2]} (table 1)")
    page.keyboard.press("Tab")  # to "Add"
    page.keyboard.press("Enter")
    expect(page.locator("#rt-theme-status")).to_have_text("Idea added to “Reading”.")
    expect(second.locator(".rt-theme-ideas li")).to_have_count(2)
    expect(page.locator("#rt-incoming-empty")).to_be_visible()

    # Take one out again: it waits among the incoming ideas.
    second.get_by_role("button", name=f"Take out “{IDEAS[1]}” from “Reading”").press("Enter")
    expect(page.locator("#rt-theme-status")).to_have_text("Idea taken out of “Reading”.")
    expect(page.locator("#rt-incoming")).to_contain_text(IDEAS[1])

    # Merging asks first; Cancel changes nothing, Merge merges, Undo brings the theme back.
    merge = second.locator("select[id^=merge-]")
    expect(merge).to_have_value("")
    merge.select_option(label="Shade in parks!")
    second.get_by_role("button", name="Merge into…").click()
    expect(page.locator("#rt-merge-dialog")).to_be_visible()
    expect(page.locator("#rt-merge-text")).to_contain_text(
        "Merge “Reading” into “Shade in parks!”?"
    )
    save_screenshot(page, "themes-merge-dialog")
    page.keyboard.press("Escape")
    expect(page.locator(".rt-theme")).to_have_count(2)
    merge.select_option(label="Shade in parks!")
    second.get_by_role("button", name="Merge into…").click()
    page.click("#rt-merge-yes")
    expect(page.locator(".rt-theme")).to_have_count(1)
    expect(page.locator("#rt-theme-status")).to_have_text(
        "“Reading” was merged into “Shade in parks!”."
    )
    expect(page.locator("#rt-undo")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".rt-theme")).to_have_count(2)
    expect(page.locator("#rt-theme-status")).to_have_text("“Reading” is back with its ideas.")
    expect(page.locator("#rt-undo")).to_be_hidden()
    expect(page.locator(".rt-theme").nth(1).locator(".rt-theme-ideas")).to_contain_text(IDEAS[2])
    assert_accessible(page)
    save_screenshot(page, "themes-team")
    assert page.script_errors == []
