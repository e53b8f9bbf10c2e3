"""A live roundtable in real Chromium: the lead's console, two tables, a facilitator, the theme
team view and the projector; axe-core on each page; a participant using only the keyboard."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import models, polls, sessions
from deliberation.roundtables.models import Participant, ParticipantRole, RoundtableSession
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD
from tests.roundtables.helpers import build_session

pytestmark = pytest.mark.browser


def seed_running_session(app) -> dict:
    """12 participants at two tables with a facilitator each, the session in its briefing."""
    with app.app_context():
        info = build_session(participants=12, facilitators=2, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)
        db.session.commit()
        people = db.session.scalars(
            select(Participant).where(Participant.session_id == session.id).order_by(Participant.id)
        ).all()
        tables = sorted({p.table_id for p in people})
        by_table = {
            t: [
                p.user.email
                for p in people
                if p.table_id == t and p.role == ParticipantRole.PARTICIPANT
            ]
            for t in tables
        }
        facilitator = next(
            p.user.email for p in people
            if p.role == ParticipantRole.TABLE_FACILITATOR and p.table_id == tables[0]
        )  # fmt: skip
        return {
            "sid": session.id,
            "token": session.projector_token,
            "lead": lead.email,
            "table1": by_table[tables[0]],
            "table2": by_table[tables[1]],
            "facilitator": facilitator,
        }


def open_as(new_page, base, email, path, viewport=None):
    page = new_page(viewport=viewport)
    browser_login(page, base, email, PASSWORD)
    page.goto(base + path)
    expect(page.locator("#rt-connection")).to_have_text(re.compile(".+"))
    return page


def test_live_roundtable_across_tables_theme_team_and_projector(app, live_server, new_page):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")
    alice = open_as(new_page, base, seed["table1"][0], f"/roundtables/{sid}/room")
    bob = open_as(new_page, base, seed["table2"][0], f"/roundtables/{sid}/room")
    facilitator = open_as(new_page, base, seed["facilitator"], f"/roundtables/{sid}/room")
    projector = new_page()
    projector.goto(f"{base}/roundtables/projector/{seed['token']}")
    expect(alice.locator("#rt-seat")).to_contain_text("table")
    expect(lead.locator("#rt-tables tr")).to_have_count(2)

    # A phase change reaches everyone, projector included.
    lead.select_option("#rt-phase-select", "discussion")
    lead.fill("#rt-phase-minutes", "10")
    lead.click("#rt-phase-form button[type=submit]")
    for page in (lead, alice, bob, facilitator, projector):
        expect(page.locator("#rt-phase")).to_have_text("Table discussion")
    expect(alice.locator("#rt-countdown")).to_contain_text("left")

    # Chat stays within its table.
    alice.fill("#rt-chat-text", "Hello from table one")
    alice.press("#rt-chat-text", "Enter")
    expect(alice.locator("#rt-chat")).to_contain_text("Hello from table one")
    expect(facilitator.locator("#rt-chat")).to_contain_text("Hello from table one")
    bob.fill("#rt-chat-text", "Table two here")
    bob.press("#rt-chat-text", "Enter")
    expect(bob.locator("#rt-chat")).to_contain_text("Table two here")
    expect(alice.locator("#rt-chat")).not_to_contain_text("Table two here")
    expect(bob.locator("#rt-chat")).not_to_contain_text("Hello from table one")

    # The table facilitator records an idea and submits it; the theme team makes it a theme.
    facilitator.fill("#rt-idea-text", "Benches in every park")
    facilitator.press("#rt-idea-text", "Enter")
    expect(facilitator.locator("#rt-ideas")).to_contain_text("Benches in every park")
    expect(alice.locator("#rt-ideas")).to_contain_text("Benches in every park")
    lead.select_option("#rt-phase-select", "submissions")
    lead.fill("#rt-phase-minutes", "")
    lead.click("#rt-phase-form button[type=submit]")
    expect(facilitator.locator("#rt-phase")).to_have_text("Table submissions")
    facilitator.click("#rt-ideas-submit")
    expect(facilitator.locator("#rt-ideas")).to_contain_text("Submitted")
    team = lead.context.new_page()
    team.script_errors = []
    team.on("pageerror", lambda error: team.script_errors.append(str(error)))
    team.goto(f"{base}/roundtables/{sid}/themes")
    expect(team.locator("#rt-incoming")).to_contain_text("Benches in every park")
    team.check("#rt-incoming input[type=checkbox]")
    team.fill("#rt-theme-name", "Green public space")
    team.click("#rt-theme-form button[type=submit]")
    expect(team.locator("#rt-theme-list")).to_contain_text("Green public space")
    lead.select_option("#rt-phase-select", "synthesis")
    lead.click("#rt-phase-form button[type=submit]")
    expect(team.locator("#rt-phase")).to_have_text("Theme synthesis")
    team.click("#rt-publish")
    expect(alice.locator("#rt-themes")).to_contain_text("Green public space")

    # The room poll: a vote updates the projector's chart.
    lead.select_option("#rt-phase-select", "poll")
    lead.click("#rt-phase-form button[type=submit]")
    lead.select_option("#rt-poll-kind", "choose_one")
    lead.fill("#rt-poll-question", "Which theme first?")
    lead.click("#rt-poll-form-open button[type=submit]")
    expect(projector.locator("#rt-question")).to_have_text("Which theme first?")
    expect(alice.locator("#rt-poll legend")).to_have_text("Which theme first?")
    alice.check("#rt-poll input[type=radio]")
    alice.click("#rt-poll button[type=submit]")
    expect(alice.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    expect(projector.locator("#rt-app")).to_have_attribute("data-total", "1")
    expect(projector.locator("#rt-results li")).to_contain_text("Green public space")
    expect(projector.locator("#rt-results li")).to_contain_text("1 (100%)")
    expect(projector.locator("#rt-results li")).to_have_attribute("data-share", "100")
    expect(lead.locator("#rt-poll .rt-total")).to_have_text("1 vote")

    pages = {"room": alice, "console": lead, "projector": projector, "themes": team}
    for name, page in pages.items():
        assert_accessible(page)
        save_screenshot(page, f"roundtable-{name}")
        assert page.script_errors == []


def test_participant_can_do_everything_by_keyboard(app, live_server, new_page):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        lead = db.session.get(User, session.lead_id)
        sessions.set_phase(lead, session, models.Phase.DISCUSSION)
        sessions.set_phase(lead, session, models.Phase.SUBMISSIONS)
        sessions.set_phase(lead, session, models.Phase.SYNTHESIS)
        sessions.set_phase(lead, session, models.Phase.POLL)
        polls.open_poll(lead, session, models.PollKind.QUESTION, "Meet again?", ["Yes", "No"])
        db.session.commit()
    phone = {"width": 360, "height": 740}
    page = open_as(new_page, base, seed["table2"][1], f"/roundtables/{sid}/room", phone)
    expect(page.locator("#rt-poll legend")).to_have_text("Meet again?")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    def tab_to(selector: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"could not reach {selector} with Tab")

    # The poll is the task of the poll phase: it comes first, before the folded rest.
    tab_to("#rt-poll input[type=radio]")
    page.keyboard.press("Space")
    tab_to("#rt-poll button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    tab_to("#rt-more > summary")
    page.keyboard.press("Enter")
    tab_to("#rt-chat-text")
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator("#rt-chat")).to_contain_text("Typed without a mouse")
    tab_to("#rt-help-form button")
    page.keyboard.press("Enter")
    expect(page.locator("#rt-help-status")).to_contain_text("asked to help")
    expect(page.locator("#rt-connection")).to_have_text("Connected.")
    assert_accessible(page)
