"""A hall table in Chromium: its facilitator registers five people without a phone, records
their ideas and enters their votes from paper slips; the console and the projector show who
took part online, in the hall and on paper."""

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import hybrid, polls, sessions
from deliberation.roundtables.models import (
    Phase,
    PollKind,
    RoundtableSession,
    RoundtableTable,
    TableKind,
    TakesPart,
)
from tests.browser.conftest import ARTIFACTS, assert_accessible, browser_login, save_screenshot
from tests.browser.test_staffing import PHONE, open_as
from tests.factories import PASSWORD, make_user
from tests.roundtables.helpers import build_session, table_facilitator

pytestmark = pytest.mark.browser

NAMES = ["Kim Sun-ja", "Lee Young-ho", "Choi Mal-soon", "Han Bok-nam", "Jung Ok-hee"]
CATEGORIES = ["citizen", "expert", "welfare_organisation", "citizen", "civil_servant"]


def seed(app) -> dict:
    """Six online citizens and a facilitator at table 1, in table discussion."""
    with app.app_context():
        info = build_session(participants=6, facilitators=1, table_size=10)
        session = db.session.get(RoundtableSession, info["session_id"])
        session.ideas_per_round = 10
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        db.session.commit()
        facilitator = table_facilitator(session.id)
        return {
            "sid": session.id,
            "lead": lead.email,
            "facilitator": facilitator.user.email,
            "token": session.projector_token,
        }


def open_the_poll(app, sid: int) -> None:
    """Straight to the room poll (the console's buttons have tests of their own)."""
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        lead = session.lead
        for phase in (Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL):
            sessions.set_phase(lead, session, phase)
        polls.open_poll(lead, session, PollKind.QUESTION, "More benches?", ["Yes", "No"])
        db.session.commit()


def test_a_facilitator_enters_five_paper_participants_their_ideas_and_votes(
    app, live_server, new_page
):
    info = seed(app)
    base, sid = live_server.url, info["sid"]

    # The lead makes table 1 a mixed table (online people already sit there).
    lead = open_as(new_page, base, info["lead"], f"/roundtables/{sid}/console")
    expect(lead.locator("#rt-kind-table option")).to_have_count(1)
    lead.select_option("#rt-kind-kind", "mixed")
    lead.click("#rt-table-kind-form button[type=submit]")
    expect(lead.locator("#rt-hall-tables")).to_have_text(
        "Hall or mixed tables: Table 1: Mixed (hall and online)"
    )

    # The hall's screen is already up: it follows the split live, as the console does.
    projector = new_page()
    projector.goto(f"{base}/roundtables/projector/{info['token']}")
    expect(projector.locator("#rt-participation")).to_have_text(
        "6 online · 0 in the hall · 0 on paper"
    )
    expect(lead.locator("#rt-participation")).to_have_text(
        "Participants: 6 online · 0 in the hall · 0 on paper"
    )

    room = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room", PHONE)
    panel = room.locator("#rt-paper")
    expect(panel).to_be_visible()
    expect(room.locator("#rt-paper-count")).to_have_text("0 paper participants at this table")

    # A refusal keeps what was typed: an empty name is refused, the category stays chosen.
    room.select_option("#rt-paper-category", "expert")
    room.click("#rt-paper-register")
    expect(room.locator("#rt-paper-error")).to_have_text("Write the person's name.")
    expect(room.locator("#rt-paper-category")).to_have_value("expert")

    for name, category in zip(NAMES, CATEGORIES, strict=True):
        room.fill("#rt-paper-name", name)
        room.select_option("#rt-paper-category", category)
        room.press("#rt-paper-name", "Enter")  # the keyboard submits the form
        expect(room.locator("#rt-paper-status")).to_have_text(f"{name} is registered on paper.")
    expect(room.locator("#rt-paper-count")).to_have_text("5 paper participants at this table")
    # The projector and the console never asked again: the server pushed the new split.
    expect(projector.locator("#rt-participation")).to_have_text(
        "6 online · 0 in the hall · 5 on paper"
    )
    expect(lead.locator("#rt-participation")).to_have_text(
        "Participants: 6 online · 0 in the hall · 5 on paper"
    )
    people = room.locator(".rt-paper-person")
    expect(people).to_have_count(5)

    for n, name in enumerate(NAMES):
        room.get_by_role("button", name=f"Record idea: {name}").click()
        field = room.get_by_label(f"Idea of {name}")
        expect(field).to_be_focused()
        field.fill(f"Idea {n + 1} from {name}")
        field.press("Enter")
        expect(room.locator("#rt-paper-status")).to_have_text(f"Idea of {name} recorded.")
        expect(people.nth(n)).to_contain_text("Ideas written down: 1")
    # the ideas are the table's, like any other (the room's own list shows them)
    expect(room.locator("#rt-ideas li")).to_have_count(5)
    assert_accessible(room)

    open_the_poll(app, sid)
    room.reload()
    projector.reload()  # the poll was opened behind the pages' backs, by the test
    expect(room.get_by_role("button", name=f"Enter vote (slip no.): {NAMES[0]}")).to_be_visible()
    for n, name in enumerate(NAMES):
        room.get_by_role("button", name=f"Enter vote (slip no.): {name}").click()
        entry = room.locator(f".rt-paper-person:has-text('{name}') form")
        entry.get_by_label("Yes" if n < 3 else "No").check()
        slip = entry.get_by_label("Slip number, as printed (like T01-013)")
        if n == 0:
            # a slip printed for another table is refused; the choice and slip stay typed
            slip.fill("T02-001")
            entry.get_by_role("button", name="Enter vote").click()
            expect(room.locator("#rt-paper-error")).to_have_text(
                "Slip T02-001 was printed for table 2, not table 1."
            )
            expect(slip).to_have_value("T02-001")
            expect(entry.get_by_label("Yes")).to_be_checked()
        slip.fill(f"t1-{n + 1}")
        entry.get_by_role("button", name="Enter vote").click()
        expect(room.locator("#rt-paper-status")).to_have_text(
            f"Vote of {name} entered with slip T01-00{n + 1}."
        )
        expect(people.nth(n)).to_contain_text(f"Vote entered (slip T01-00{n + 1})")
    assert_accessible(room)
    assert room.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(room, "hybrid-paper-panel-390-en")

    # The console and the projector show the split: six online, five on paper.
    lead.reload()
    expect(lead.locator("#rt-participation")).to_have_text(
        "Participants: 6 online · 0 in the hall · 5 on paper"
    )
    expect(projector.locator("#rt-participation")).to_have_text(
        "6 online · 0 in the hall · 5 on paper"
    )
    expect(lead.locator("#rt-kind-kind")).to_have_value("mixed")
    expect(lead.locator("#rt-poll-split")).to_have_text(
        "Votes in this poll: 0 online · 0 in the hall · 5 on paper"
    )
    assert_accessible(lead)
    save_screenshot(lead, "hybrid-console-en")
    expect(projector.locator("#rt-split")).to_have_text(
        "Votes: 0 online · 0 in the hall · 5 on paper"
    )
    expect(projector.locator("#rt-total")).to_contain_text("5")
    for page in (room, lead, projector):
        assert page.script_errors == []

    # The people page lists them too, by the name written down, marked as on paper.
    lead.goto(f"{base}/roundtables/{sid}/people?q=Young-ho")
    expect(lead.locator("#people-found")).to_have_text("1 person found.")
    paper_row = lead.locator("table.rt-people tbody tr")
    expect(paper_row.locator("th")).to_have_text(NAMES[1])
    expect(paper_row.locator("td").nth(4)).to_have_text("Paper")
    expect(paper_row.locator("input[type=checkbox]")).to_have_count(0)
    assert_accessible(lead)
    save_screenshot(lead, "hybrid-people-paper-en")

    # The same panel for a Korean-speaking facilitator on a phone.
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == info["facilitator"]))
        user.preferred_language = "ko"
        db.session.commit()
    korean = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room", PHONE)
    expect(korean.locator("#paper-heading")).to_have_text("종이 참여자")
    expect(korean.locator("#rt-paper-count")).to_have_text("이 테이블의 종이 참여자 5명")
    expect(korean.locator(".rt-paper-person").first).to_contain_text("투표 입력됨 (용지 T01-001)")
    # A second Kim Sun-ja: held back once (the same person twice would vote twice), then
    # confirmed as a namesake, and named apart from the first by her number on the list.
    korean.fill("#rt-paper-name", "Kim Sun-ja")
    korean.press("#rt-paper-name", "Enter")
    expect(korean.locator("#rt-paper-error")).to_have_text(
        "Kim Sun-ja 님은 이미 이 테이블에 등록되어 있습니다. 이름이 같은 다른 분이면 "
        "‘종이 참여자로 등록’을 한 번 더 누르세요."
    )
    korean.press("#rt-paper-name", "Enter")
    expect(korean.locator("#rt-paper-status")).to_have_text(
        "Kim Sun-ja 님을 종이 참여자로 등록했습니다."
    )
    korean.get_by_role("button", name="투표 입력 (용지 번호): Kim Sun-ja, 6번", exact=True).click()
    assert korean.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(korean)
    save_screenshot(korean, "hybrid-room-390-ko")
    # the panel alone, whole, as the phone shows it
    korean.locator("#rt-paper").screenshot(path=str(ARTIFACTS / "hybrid-paper-panel-390-ko.png"))
    assert korean.script_errors == []

    # Field-office staff have no seat: they choose the hall table and see its paper people.
    with app.app_context():
        clerk = make_user(Role.FIELD_OFFICE, name="Field office")
        clerk_email = clerk.email
    office = open_as(new_page, base, clerk_email, f"/roundtables/{sid}/room", PHONE)
    expect(office.locator("#rt-paper-table")).to_have_value(str(table_id_of(app, sid)))
    expect(office.locator("#rt-paper-count")).to_have_text("6 paper participants at this table")
    office.fill("#rt-paper-name", "Oh Soon-rye")
    office.click("#rt-paper-register")
    expect(office.locator("#rt-paper-status")).to_have_text("Oh Soon-rye is registered on paper.")
    expect(office.locator("#rt-paper-count")).to_have_text("7 paper participants at this table")
    assert office.script_errors == []

    # The facilitator prints the table's sheets: the sign-in sheet names the paper people.
    room.click("#rt-print-link")
    signin = room.locator("section.sheet-signin")
    expect(signin).to_have_count(1)
    for name in (*NAMES, "Kim Sun-ja", "Oh Soon-rye"):
        expect(signin).to_contain_text(name)
    expect(room.locator("section.sheet-slips").first).to_contain_text("T01-001")
    assert room.script_errors == []


def table_id_of(app, sid: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(RoundtableTable.id).where(RoundtableTable.session_id == sid)
        )


def test_the_paper_panel_shows_even_when_its_script_arrives_after_the_seat(
    app, live_server, new_page
):
    """The room's first snapshot can come before the paper panel's script has downloaded (a
    slow phone, a loaded server): the panel must still learn the seat and show."""
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    room = new_page(viewport=PHONE)
    browser_login(room, base, info["facilitator"], PASSWORD)

    def late(route) -> None:
        time.sleep(1.5)  # the browser meanwhile connects and has the join's answer
        route.continue_()

    room.route("**/js/roundtable-paper.js", late)
    room.goto(f"{base}/roundtables/{sid}/room")
    expect(room.locator("#rt-facilitator")).to_have_text("You facilitate this table.")
    expect(room.locator("#rt-paper")).to_be_visible(timeout=10_000)
    expect(room.locator("#rt-paper-count")).to_have_text("0 paper participants at this table")
    assert room.script_errors == []


def test_a_name_already_at_the_table_is_confirmed_and_namesakes_are_told_apart(
    app, live_server, new_page
):
    """The same name a second time is held back with a warning (likely the same person, who
    would then vote twice); pressed again, a namesake is entered, and every button and field
    of the two says which one it is for."""
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    with app.app_context():
        facilitator = table_facilitator(sid)
        db.session.get(RoundtableTable, facilitator.table_id).kind = TableKind.MIXED
        db.session.commit()
    open_the_poll(app, sid)
    room = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room", PHONE)
    expect(room.locator("#rt-paper")).to_be_visible()
    room.fill("#rt-paper-name", "Kim Sun-ja")
    room.click("#rt-paper-register")
    expect(room.locator("#rt-paper-status")).to_have_text("Kim Sun-ja is registered on paper.")

    room.fill("#rt-paper-name", "kim sun-ja ")
    room.click("#rt-paper-register")
    expect(room.locator("#rt-paper-error")).to_have_text(
        "kim sun-ja is already registered at this table. If this is another person with the "
        "same name, press Register on paper again."
    )
    expect(room.locator(".rt-paper-person")).to_have_count(1)
    room.fill("#rt-paper-name", "Kim Sun-ja")
    room.click("#rt-paper-register")
    expect(room.locator("#rt-paper-status")).to_have_text("Kim Sun-ja is registered on paper.")
    expect(room.locator(".rt-paper-person")).to_have_count(2)

    for n in (1, 2):
        for action in ("Record idea", "Enter vote (slip no.)"):
            button = room.get_by_role("button", name=f"{action}: Kim Sun-ja, no. {n}", exact=True)
            expect(button).to_have_count(1)
    room.get_by_role("button", name="Record idea: Kim Sun-ja, no. 2", exact=True).click()
    expect(room.get_by_label("Idea of Kim Sun-ja, no. 2", exact=True)).to_be_focused()
    assert_accessible(room)
    assert room.script_errors == []


def test_a_hall_table_of_paper_people_is_not_flagged_as_missing_anyone(app, live_server, new_page):
    """People entered on paper have no device: a hall table whose facilitator and phone user
    are connected is missing no one, for a Korean lead; when the phone user leaves, it is."""
    with app.app_context():
        info = build_session(participants=0, facilitators=1)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        lead.preferred_language = "ko"
        citizen = make_user(name="Hall phone user")
        sessions.register(session, citizen, takes_part=TakesPart.HALL)
        [table] = hybrid.create_hall_tables(session, 1)
        db.session.commit()
        sessions.seat_room(lead, session)
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        for name in ("Kim Sun-ja", "Lee Young-ho", "Choi Mal-soon"):
            hybrid.register_paper_participant(
                lead, session, None, table, name=name, member_category="citizen"
            )
        db.session.commit()
        sid, lead_email, citizen_email = session.id, lead.email, citizen.email
        facilitator_email = table_facilitator(sid).user.email
    base = live_server.url
    for email, viewport in ((facilitator_email, None), (citizen_email, PHONE)):
        page = open_as(new_page, base, email, f"/roundtables/{sid}/room", viewport)
        expect(page.locator("#rt-connection")).to_have_text("Connected.")
    phone = page

    console = open_as(new_page, base, lead_email, f"/roundtables/{sid}/console")
    row = console.locator("#rt-tables tr").filter(has=console.locator("th", has_text="1"))
    connected = row.locator("td.rt-cell-connected")
    expect(connected).to_have_text("2 / 2 · 종이 3명")
    expect(row.locator("td.rt-cell-seated")).to_have_text("5")
    expect(connected).not_to_have_class(re.compile("rt-warn"))
    expect(console.locator(".rt-tables thead")).to_contain_text("접속 / 기기 사용")
    expect(console.locator("#rt-counts")).to_contain_text("접속 2 / 기기 사용 2")
    console.select_option("#rt-filter", "disconnected")
    expect(console.locator("#rt-tables tr")).to_have_count(0)
    assert_accessible(console)
    save_screenshot(console, "console-hall-paper-table-ko")

    phone.close()  # the one person with a device at the table leaves: now someone is missing
    expect(console.locator("#rt-tables tr")).to_have_count(1, timeout=15_000)
    expect(connected).to_have_text("1 / 2 · 종이 3명")
    expect(connected).to_have_class(re.compile("rt-warn"))
    assert console.script_errors == []
