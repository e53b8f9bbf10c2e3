"""The participant room on a 390 px phone and the projector on a hall screen, in Chromium: the
briefing first, then the poll brought up, focused and announced with its time left, the vote
counted, the final result and the closed room; a table facilitator never sees a Vote button."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions, tables
from deliberation.roundtables.models import Participant, RoundtableSession
from tests.browser.conftest import assert_accessible, save_screenshot
from tests.browser.test_roundtables import open_as, seed_running_session
from tests.roundtables.helpers import build_session, cid
from tests.roundtables.test_live_server import Person

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
HALL = {"width": 1920, "height": 1080}
BRIEFING = "Tonight we choose which park projects go first."
LONG_OPTION = (
    "Benches, shade trees and drinking fountains in every neighbourhood park within ten minutes"
    " of each home"
)


def seed_phone_session(app) -> dict:
    """The running session in its briefing, with a briefing text and a Korean citizen."""
    seed = seed_running_session(app)
    with app.app_context():
        session = db.session.get(RoundtableSession, seed["sid"])
        session.briefing = BRIEFING
        korean = db.session.scalar(select(User).where(User.email == seed["table1"][1]))
        korean.preferred_language = "ko"
        db.session.commit()
    return seed


def test_phone_room_poll_and_projector(app, live_server, new_page):
    seed = seed_phone_session(app)
    base, sid = live_server.url, seed["sid"]
    citizen = open_as(new_page, base, seed["table1"][0], f"/roundtables/{sid}/room", PHONE)
    korean = open_as(new_page, base, seed["table1"][1], f"/roundtables/{sid}/room", PHONE)
    facilitator = open_as(new_page, base, seed["facilitator"], f"/roundtables/{sid}/room", PHONE)
    projector = new_page(viewport=HALL)
    projector.goto(f"{base}/roundtables/projector/{seed['token']}")
    hall_ko = new_page(viewport=HALL)
    hall_ko.set_extra_http_headers({"Accept-Language": "ko"})
    hall_ko.goto(f"{base}/roundtables/projector/{seed['token']}")
    lead = Person(base, seed["lead"])
    lead.call("join", {"session_id": sid})

    # The briefing is the task of the briefing phase: its text comes first; the rest is folded.
    expect(citizen.locator("#rt-connection")).to_have_text("Connected.")
    expect(citizen.locator("#rt-now > section").first).to_contain_text(BRIEFING)
    expect(citizen.locator("#rt-more")).not_to_have_attribute("open", "")
    expect(citizen.locator("#rt-more-summary")).to_have_text(
        "More: Table chat, Our table's ideas, Room poll, Themes"
    )
    expect(citizen.locator("#rt-seat")).to_have_text(re.compile(r"You are at table \d+\."))
    expect(citizen.locator("#rt-facilitator")).to_contain_text("Your table facilitator:")
    expect(facilitator.locator("#rt-facilitator")).to_have_text("You facilitate this table.")
    expect(korean.locator("#rt-now")).to_contain_text(BRIEFING)
    expect(projector.locator("#rt-projector-briefing")).to_contain_text(BRIEFING)
    assert citizen.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(citizen)
    save_screenshot(citizen, "room-phone-briefing-en")
    save_screenshot(korean, "room-phone-briefing-ko")

    # A table's idea becomes a published theme: the projector lists it.
    assert lead.call("phase_set", {"session_id": sid, "phase": "discussion"})["ok"]
    # In the discussion the chat comes first; the table facilitator also has the ideas at hand.
    expect(citizen.locator("#rt-now > section")).to_have_count(1)
    expect(citizen.locator("#rt-now > section").first).to_have_id("rt-panel-chat")
    expect(facilitator.locator("#rt-now > section")).to_have_count(2)
    expect(facilitator.locator("#rt-now > section").nth(1)).to_have_id("rt-panel-ideas")
    expect(facilitator.locator("#rt-idea-form")).to_be_visible()
    assert_accessible(facilitator)
    save_screenshot(facilitator, "room-phone-discussion-facilitator")
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        user = db.session.scalar(select(User).where(User.email == seed["facilitator"]))
        user_id = user.id
        seat = sessions.find_participant(sid, user_id)
        idea = tables.add_idea(session, seat, seat.table_id, "Shade trees", cid())
        db.session.commit()
    assert lead.call("phase_set", {"session_id": sid, "phase": "submissions"})["ok"]
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        seat = sessions.find_participant(sid, user_id)
        tables.submit_ideas(session, seat, seat.table_id)
        db.session.commit()
    assert lead.call("phase_set", {"session_id": sid, "phase": "synthesis"})["ok"]
    made = lead.call(
        "theme_create",
        {
            "session_id": sid,
            "name": "Green public space",
            "idea_ids": [idea["id"]],
            "client_id": cid(),
        },
    )
    assert made["ok"], made
    assert lead.call("themes_publish", {"session_id": sid})["ok"]
    expect(projector.locator("#rt-themes")).to_have_text("Green public space")
    expect(citizen.locator("#rt-themes")).to_contain_text("Green public space")

    # A broadcast reaches the room and the projector.
    lead.call("broadcast", {"session_id": sid, "text": "Five minutes to the poll"})
    expect(citizen.locator("#rt-broadcast")).to_contain_text("Five minutes to the poll")
    expect(projector.locator("#rt-broadcast")).to_contain_text("Five minutes to the poll")

    # A timed poll opens: on the phone it comes first, takes the focus and is announced.
    assert lead.call("phase_set", {"session_id": sid, "phase": "poll"})["ok"]
    opened = lead.call(
        "poll_open",
        {
            "session_id": sid,
            "kind": "question",
            "question": "Which first?",
            "options": [LONG_OPTION, "Library hours"],
            "duration_s": 180,
        },
    )
    assert opened["ok"], opened
    expect(citizen.locator("#rt-announce")).to_have_text("A poll is open: Which first?")
    expect(citizen.locator("#rt-now > section").first).to_have_id("rt-panel-poll")
    assert citizen.evaluate("document.activeElement.id") == "poll-heading"
    expect(citizen.locator("#rt-poll .rt-poll-state")).to_have_text(
        re.compile(r"[23]:\d\d left to vote")
    )
    expect(projector.locator("#rt-poll-state")).to_have_text(re.compile(r"[23]:\d\d left to vote"))
    expect(korean.locator("#rt-poll .rt-poll-state")).not_to_contain_text("left to vote")

    # A long option keeps its radio beside its label (same row), the label wrapping.
    radio = citizen.locator("#rt-poll input[type=radio]").first.bounding_box()
    label = citizen.locator("#rt-poll .rt-choice label").first.bounding_box()
    assert abs(radio["y"] - label["y"]) < 10 and label["x"] > radio["x"]
    assert label["x"] + label["width"] <= PHONE["width"]

    # The table facilitator follows the tally and never sees a Vote button.
    expect(facilitator.locator("#rt-poll .rt-poll-watch")).to_be_visible()
    expect(facilitator.locator("#rt-poll button")).to_have_count(0)
    expect(facilitator.locator("#rt-poll input")).to_have_count(0)

    citizen.locator("#rt-poll input[type=radio]").first.check()
    citizen.click("#rt-poll button[type=submit]")
    expect(citizen.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    expect(projector.locator("#rt-results li").first).to_contain_text("1 (100%)")
    expect(projector.locator("#rt-results li").first).to_contain_text(LONG_OPTION)
    expect(facilitator.locator("#rt-poll .rt-count").first).to_have_text("1 vote (100%)")
    # The projector's label wraps inside the screen, never cut.
    box = projector.locator(".rt-bar-label").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= HALL["width"]
    assert_accessible(citizen)
    assert_accessible(facilitator)
    assert_accessible(projector)
    assert_accessible(korean)
    save_screenshot(citizen, "room-phone-poll-en")
    save_screenshot(korean, "room-phone-poll-ko")
    save_screenshot(facilitator, "room-phone-poll-facilitator")
    save_screenshot(projector, "projector-poll")
    expect(hall_ko.locator("#rt-poll-state")).to_contain_text("투표 마감까지")
    expect(hall_ko.locator("#rt-results li").first).to_contain_text("1 (100%)")
    assert_accessible(hall_ko)
    save_screenshot(hall_ko, "projector-poll-ko")

    # The poll closes: the final result, the vote still counted.
    poll_id = opened["poll"]["id"]
    assert lead.call("poll_close", {"session_id": sid, "poll_id": poll_id})["ok"]
    expect(citizen.locator("#rt-poll .rt-poll-state")).to_have_text(
        "Closed: this is the final result."
    )
    expect(citizen.locator("#rt-vote-status")).to_have_text(
        "Your vote was counted. The poll is closed."
    )
    expect(citizen.locator("#rt-poll button")).to_have_count(0)
    expect(projector.locator("#rt-poll-state")).to_have_text("Closed: this is the final result.")

    # An agree poll on the published themes: stances for a voter, the tally for the facilitator.
    agree = lead.call("poll_open", {"session_id": sid, "kind": "agree", "question": "Agree?"})
    assert agree["ok"], agree
    expect(citizen.locator("#rt-poll legend")).to_have_text("Green public space")
    expect(citizen.locator("#rt-poll input[type=radio]")).to_have_count(3)
    expect(facilitator.locator("#rt-poll input")).to_have_count(0)
    citizen.get_by_label("Agree", exact=True).check()
    citizen.click("#rt-poll button[type=submit]")
    expect(citizen.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    expect(facilitator.locator("#rt-poll .rt-count")).to_have_text(
        "Agree 1 (100%) · Disagree 0 (0%) · Pass 0 (0%)"
    )
    expect(projector.locator("#rt-results li").first).to_contain_text("Agree 1 (100%)")
    assert lead.call("poll_close", {"session_id": sid, "poll_id": agree["poll"]["id"]})["ok"]
    expect(projector.locator("#rt-poll-state")).to_have_text("Closed: this is the final result.")

    # The session closes: the room says so, disables input with the reason, links the results.
    assert lead.call("session_close", {"session_id": sid})["ok"]
    expect(citizen.locator("#rt-closed")).to_be_visible()
    expect(citizen.locator("#rt-results-link")).to_have_attribute(
        "href", re.compile(rf"/roundtables/{sid}/results$")
    )
    expect(citizen.locator("#rt-chat-text")).to_be_disabled()
    expect(citizen.locator("#rt-chat-closed")).to_contain_text("The session is closed")
    assert_accessible(citizen)
    save_screenshot(citizen, "room-phone-closed-en")
    save_screenshot(korean, "room-phone-closed-ko")
    save_screenshot(projector, "projector-final")
    lead.client.disconnect()
    for page in (citizen, korean, facilitator, projector):
        assert page.script_errors == []


def test_the_seat_line_follows_seating(app, live_server, new_page):
    with app.app_context():
        info = build_session(participants=6, facilitators=1, table_size=7)
        lead_email = db.session.get(User, info["lead_id"]).email
        email = db.session.get(User, info["people"][0]).email
        citizen_id = info["people"][0]
        sid = info["session_id"]
    base = live_server.url
    citizen = open_as(new_page, base, email, f"/roundtables/{sid}/room", PHONE)
    expect(citizen.locator("#rt-seat")).to_have_text(
        "You will get a seat when the lead facilitator seats the room."
    )
    lead = Person(base, lead_email)
    lead.call("join", {"session_id": sid})
    assert lead.call("seat_room", {"session_id": sid})["ok"]
    expect(citizen.locator("#rt-seat")).to_have_text("You are at table 1.")
    expect(citizen.locator("#rt-facilitator")).to_contain_text("Your table facilitator:")
    # Asking for help shows on its own line; the connection line stays.
    citizen.locator("#rt-more > summary").click()
    citizen.click("#rt-help-form button")
    expect(citizen.locator("#rt-help-status")).to_contain_text("asked to help")
    expect(citizen.locator("#rt-connection")).to_have_text("Connected.")
    with app.app_context():
        table_id = db.session.scalar(
            select(Participant.table_id).where(
                Participant.session_id == sid, Participant.user_id == citizen_id
            )
        )
    assert lead.call("help_clear", {"session_id": sid, "table_id": table_id})["ok"]
    expect(citizen.locator("#rt-help-status")).to_have_text(
        "The lead facilitator has answered your table's request."
    )
    expect(citizen.locator("#rt-connection")).to_have_text("Connected.")
    lead.client.disconnect()
    assert citizen.script_errors == []
