"""Staffing in real Chromium: the lead imports a roster, gives a role and moves someone on the
people page; the person moved sees their new table at once; a table facilitator edits and
deletes a draft idea. axe-core on each page, a 390 px phone, Korean and English."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole, Phase, RoundtableSession
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.roundtables.helpers import build_session

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def seed(app) -> dict:
    """Ten citizens and a volunteer at two tables of six; only table 1 has a facilitator."""
    with app.app_context():
        info = build_session(participants=10, facilitators=1, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        volunteer = make_user(Role.FACILITATOR, name="Volunteer Park", email="park@example.org")
        sessions.register(session, volunteer)
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        db.session.commit()
        people = db.session.scalars(
            select(Participant).where(Participant.session_id == session.id).order_by(Participant.id)
        ).all()
        numbers = {p.table_id: p.table.number for p in people if p.table}
        by_number = {n: t for t, n in numbers.items()}
        mover = next(
            p for p in people
            if p.role == ParticipantRole.PARTICIPANT and numbers.get(p.table_id) == 1
            and p.user_id != volunteer.id
        )  # fmt: skip
        mover.user.display_name = "Moon Seoyeon"
        facilitator = next(p for p in people if p.role == ParticipantRole.TABLE_FACILITATOR)
        theme = next(
            p for p in people
            if p.role == ParticipantRole.PARTICIPANT and p.id not in (mover.id,)
            and p.user_id != volunteer.id
        )  # fmt: skip
        theme.user.display_name = "Han Jiwoo"
        db.session.commit()
        return {
            "sid": session.id,
            "lead": lead.email,
            "mover": mover.user.email,
            "facilitator": facilitator.user.email,
            "table2": by_number[2],
        }


def open_as(new_page, base, email, path, viewport=None):
    page = new_page(viewport=viewport)
    browser_login(page, base, email, PASSWORD)
    page.goto(base + path)
    return page


def test_lead_imports_a_roster_gives_a_role_and_moves_someone_who_sees_it_at_once(
    app, live_server, new_page
):
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    room = open_as(new_page, base, info["mover"], f"/roundtables/{sid}/room", PHONE)
    expect(room.locator("#rt-seat")).to_have_text("You are at table 1.")
    lead = open_as(new_page, base, info["lead"], f"/roundtables/{sid}/console")
    lead.click("#rt-people-link")
    expect(lead.locator("h1")).to_contain_text("People")
    expect(lead.locator("#bare-tables")).to_have_text("1 (tables 2)")
    expect(lead.locator("#people-found")).to_have_text("12 people found.")
    assert_accessible(lead)
    save_screenshot(lead, "staffing-people-en")

    # The roster: one good row, one unknown email, one bad role; a preview first.
    lead.fill(
        "#roster_text",
        "email,role,table\npark@example.org,table_facilitator,2\n"
        "nobody@example.org,participant,1\n" + info["mover"] + ",boss,1\n",
    )
    lead.click("text=Check the roster")
    expect(lead.locator("#roster-summary")).to_contain_text(
        "Rows to apply: 1. Rows with errors, to be skipped: 2."
    )
    rows = lead.locator(".rt-roster tbody tr")
    expect(rows.nth(0)).to_contain_text("Table facilitator at table 2")
    expect(rows.nth(1)).to_contain_text("3")
    expect(rows.nth(1)).to_contain_text("No member has this email.")
    expect(rows.nth(2)).to_contain_text("Unknown role “boss”")
    assert_accessible(lead)
    save_screenshot(lead, "staffing-roster-preview-en")
    with app.app_context():  # nothing changed yet
        assert (
            db.session.scalar(
                select(Participant.role).join(User).where(User.email == "park@example.org")
            )
            == ParticipantRole.PARTICIPANT
        )
    lead.click("text=Apply 1 row")
    expect(lead.locator(".flash-success")).to_contain_text(
        "Roster imported. Rows applied: 1; skipped: 2."
    )
    expect(lead.locator("#bare-tables")).to_have_text("0")

    # A role: Han Jiwoo joins the theme team.
    lead.fill("#f-q", "jiwoo")
    lead.click("text=Show")
    expect(lead.locator("#people-found")).to_have_text("1 person found.")
    lead.check("text=Han Jiwoo")
    lead.select_option("#action", "theme_team")
    lead.click("#bulk-form button[type=submit]")
    expect(lead.locator(".flash-success")).to_contain_text("Done for 1 person.")
    expect(lead.locator(".rt-people tbody tr")).to_contain_text("Theme team")

    # A move: Moon Seoyeon goes to table 2, and her open room says so without a reload.
    lead.fill("#f-q", "seoyeon")
    lead.click("text=Show")
    expect(lead.locator(".rt-people tbody tr")).to_contain_text("Connected")  # connected now
    lead.check("text=Moon Seoyeon")
    lead.select_option("#action", "move")
    lead.select_option("#table_id", str(info["table2"]))
    lead.click("#bulk-form button[type=submit]")
    expect(lead.locator(".flash-success")).to_contain_text("Done for 1 person.")
    expect(room.locator("#rt-seat")).to_have_text("You are at table 2.")
    expect(room.locator("#rt-seat-note")).to_have_text("The lead facilitator moved you to table 2.")
    assert_accessible(room)
    save_screenshot(room, "staffing-room-moved-390-en")
    for page in (room, lead):
        assert page.script_errors == []

    # The same page for a Korean-speaking lead on a phone.
    with app.app_context():
        db.session.scalar(select(User).where(User.email == info["lead"])).preferred_language = "ko"
        db.session.commit()
    phone = open_as(new_page, base, info["lead"], f"/roundtables/{sid}/people", PHONE)
    expect(phone.locator("h1")).to_contain_text("사람")
    expect(phone.locator("#people-found")).to_have_text("12명을 찾았습니다.")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.check("#pick-all")  # one box ticks everyone listed
    expect(phone.locator("input[name=participant_ids]:checked")).to_have_count(12)
    assert_accessible(phone)
    save_screenshot(phone, "staffing-people-390-ko")


def test_table_facilitator_edits_and_deletes_a_draft_idea_and_sees_the_count(
    app, live_server, new_page
):
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    page = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room", PHONE)
    expect(page.locator("#rt-idea-form")).to_be_visible()
    expect(page.locator("#rt-idea-count")).to_have_text("0 of 5 ideas")
    for text in ("Benches by the river", "Night buses", "Library hours"):
        page.fill("#rt-idea-text", text)
        page.click("#rt-idea-add")
        expect(page.locator("#rt-ideas")).to_contain_text(text)
    expect(page.locator("#rt-idea-count")).to_have_text("3 of 5 ideas")
    page.get_by_role("button", name="Edit: Night buses").click()
    rewording = page.locator("#rt-ideas input")
    expect(rewording).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Night buses every 20")
    # An idea added meanwhile (the facilitator's second device) redraws the list: the
    # rewording in progress stays, with its text and the focus.
    second = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room", PHONE)
    second.fill("#rt-idea-text", "Quiet hours")
    second.click("#rt-idea-add")
    expect(page.locator("#rt-idea-count")).to_have_text("4 of 5 ideas")
    expect(page.locator("#rt-ideas")).to_contain_text("Quiet hours")
    expect(rewording).to_have_value("Night buses every 20")
    expect(rewording).to_be_focused()
    page.bring_to_front()
    page.keyboard.type(" minutes")
    page.keyboard.press("Enter")
    expect(page.locator("#rt-idea-status")).to_have_text("The idea is saved.")
    expect(page.locator("#rt-ideas")).to_contain_text("Night buses every 20 minutes")
    page.get_by_role("button", name="Delete: Library hours").click()
    expect(page.locator("#rt-idea-status")).to_have_text("The idea is deleted.")
    expect(page.locator("#rt-ideas li")).to_have_count(3)
    expect(page.locator("#rt-idea-count")).to_have_text("3 of 5 ideas")
    assert_accessible(page)
    save_screenshot(page, "staffing-facilitator-ideas-390-en")
    # A citizen at the table sees the ideas but no buttons.
    with app.app_context():
        citizen = db.session.scalar(
            select(User.email)
            .join(Participant, Participant.user_id == User.id)
            .where(
                Participant.session_id == sid,
                Participant.role == ParticipantRole.PARTICIPANT,
                Participant.table_id
                == select(Participant.table_id)
                .join(User, User.id == Participant.user_id)
                .where(User.email == info["facilitator"])
                .scalar_subquery(),
            )
            .limit(1)
        )
        db.session.scalar(select(User).where(User.email == citizen)).preferred_language = "ko"
        db.session.commit()
    other = open_as(new_page, base, citizen, f"/roundtables/{sid}/room", PHONE)
    expect(other.locator("#rt-ideas li")).to_have_count(3)
    expect(other.locator("#rt-ideas button")).to_have_count(0)
    expect(other.locator("#rt-idea-count")).to_have_text(re.compile("아이디어 5개 중 3개"))
    assert_accessible(other)
    save_screenshot(other, "staffing-citizen-ideas-390-ko")
    assert page.script_errors == [] and other.script_errors == []
