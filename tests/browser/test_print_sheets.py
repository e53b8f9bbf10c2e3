"""Printable hall-table sheets in real Chromium: one table's sheets and every table's print to
A4 PDFs with the expected number of pages; under print media nothing is wider than the A4
page and no slip or box cuts its content off; Korean and English; a 390 px phone and axe-core
on screen."""

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole
from tests.browser.conftest import ARTIFACTS, assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.roundtables.helpers import build_session, session_of

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
#: A4's printable width at 96 px an inch: 210 mm less the sheets' 12 mm margins (186 mm).
A4_PRINTABLE = {"width": round(186 / 25.4 * 96), "height": round(273 / 25.4 * 96)}
#: One table: the ideas form (5 ideas), 10 seats x 3 polls = 30 slips at 6 a page, sign-in.
PAGES_PER_TABLE = 1 + 5 + 1
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")


def seed(app) -> dict:
    """Sixteen citizens (long names among them) at two tables of eight; a Korean-speaking
    facilitator at table 1; the lead reads English."""
    with app.app_context():
        info = build_session(participants=16, facilitators=2, table_size=10)
        session = session_of(info["session_id"])
        session.title = "Welfare budget roundtable of the Seoul council, autumn session"
        lead = db.session.get(User, info["lead_id"])
        lead.email = "lead-print@example.org"
        sessions.seat_room(lead, session)
        people = db.session.scalars(
            select(Participant).where(Participant.session_id == session.id)
        ).all()
        facilitator = next(
            p for p in people
            if p.role == ParticipantRole.TABLE_FACILITATOR and p.table.number == 1
        )  # fmt: skip
        facilitator.user.preferred_language = "ko"
        facilitator.user.display_name = "김진행"
        sitter = next(p for p in people if p.role == ParticipantRole.PARTICIPANT)
        sitter.user.display_name = "Hwang Bo-Reum Kyung-Soon Christina Sophia Alexandra"
        field_office = make_user(Role.FIELD_OFFICE, email="field@example.org", commit=False)
        db.session.commit()
        return {
            "sid": session.id,
            "lead": lead.email,
            "facilitator": facilitator.user.email,
            "field_office": field_office.email,
        }


def open_as(new_page, base: str, email: str, path: str, viewport=None) -> Page:
    page = new_page(viewport=viewport)
    browser_login(page, base, email, PASSWORD)
    page.goto(base + path)
    return page


def pdf_pages(page: Page, name: str) -> int:
    """Print the page to an A4 PDF (kept with the screenshots); the number of its pages, each
    checked to be A4."""
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(format="A4", path=str(ARTIFACTS / f"{name}.pdf"))
    boxes = MEDIA_BOX.findall(pdf)
    assert boxes and all(
        abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes
    ), boxes[:3]
    return len(PAGE_OBJECT.findall(pdf))


def overflow_in_print(page: Page) -> list[str]:
    """Under print media at A4's printable width: elements sticking out of the page, and slips
    or boxes whose content is taller or wider than they are (cut off when printed)."""
    page.set_viewport_size(A4_PRINTABLE)
    page.emulate_media(media="print")
    found = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth, bad = [];
          const name = (el) => el.tagName.toLowerCase() + "." + el.className + " "
            + (el.textContent || "").trim().slice(0, 30);
          const scrolled = document.documentElement.scrollWidth;
          if (scrolled > width) bad.push("page " + scrolled);
          for (const el of document.querySelectorAll(".print-sheets *")) {
            const box = el.getBoundingClientRect();
            const out = box.right > width + 0.5 || box.left < -0.5;
            if (box.width && out) bad.push(name(el) + " " + box.right);
          }
          for (const el of document.querySelectorAll(".slip, .idea-box, .signin td, .sheet")) {
            if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)
              bad.push("cut: " + name(el));
          }
          return bad;
        }"""
    )
    return found


def test_one_tables_sheets_print_on_a4_in_english_and_korean(app, live_server, new_page):
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    path = f"/roundtables/{sid}/print/tables/1"
    page = open_as(new_page, base, info["field_office"], path)
    expect(page.locator("h1")).to_have_text("Print sheets: table 1")
    expect(page.locator(".slip-no")).to_have_count(30)
    expect(page.locator(".slip-no").first).to_have_text("T01-001")
    expect(page.locator(".slip-no").last).to_have_text("T01-030")
    expect(page.locator(".sheet-signin tbody tr")).to_have_count(10)
    expect(page.locator(".sheet-signin")).to_contain_text("Hwang Bo-Reum Kyung-Soon")
    assert_accessible(page)
    save_screenshot(page, "print-sheets-table-en-screen")
    assert overflow_in_print(page) == []
    save_screenshot(page, "print-sheets-table-en-print")
    assert pdf_pages(page, "print-sheets-table-en") == PAGES_PER_TABLE
    assert page.script_errors == []

    # The table's facilitator reads Korean: the sheets come in Korean without asking.
    korean = open_as(new_page, base, info["facilitator"], f"/roundtables/{sid}/room")
    korean.click("#rt-print-link")
    expect(korean.locator("h1")).to_have_text("인쇄 양식: 1번 테이블")
    expect(korean.locator(".print-sheets")).to_have_attribute("lang", "ko")
    expect(korean.locator(".sheet-ideas h2")).to_have_text("아이디어 기록지")
    choice = "나의 선택: 하나에 표시하거나 직접 쓰세요"
    expect(korean.locator(".slip-label").first).to_have_text(choice)
    expect(korean.locator(".sheet-signin thead")).to_contain_text("서명")
    assert_accessible(korean)
    save_screenshot(korean, "print-sheets-table-ko-screen")
    assert overflow_in_print(korean) == []
    save_screenshot(korean, "print-sheets-table-ko-print")
    assert pdf_pages(korean, "print-sheets-table-ko") == PAGES_PER_TABLE

    # Five polls' slips only: 50 slips, six a page.
    korean.emulate_media(media="screen")
    korean.goto(base + path + "?polls=5&sheets=slips&lang=en")
    expect(korean.locator(".slip-no")).to_have_count(50)
    assert overflow_in_print(korean) == []
    assert pdf_pages(korean, "print-sheets-slips-5-polls") == 9


def test_every_tables_sheets_print_from_the_console(app, live_server, new_page):
    info = seed(app)
    base, sid = live_server.url, info["sid"]
    page = open_as(new_page, base, info["lead"], f"/roundtables/{sid}/console")
    page.click("#rt-print-link")
    expect(page.locator("h1")).to_have_text("Print sheets: every table")
    expect(page.locator(".slip-no")).to_have_count(2 * 30)
    numbers = page.locator(".slip-no").all_text_contents()
    assert len(set(numbers)) == 60 and numbers[30] == "T02-001"
    assert overflow_in_print(page) == []
    assert pdf_pages(page, "print-sheets-all-en") == 2 * PAGES_PER_TABLE
    page.emulate_media(media="screen")
    page.select_option("#lang", "ko")
    page.click(".print-options button[type=submit]")
    expect(page.locator(".sheet-slips h2").first).to_contain_text("투표 용지")
    assert overflow_in_print(page) == []
    assert pdf_pages(page, "print-sheets-all-ko") == 2 * PAGES_PER_TABLE
    save_screenshot(page, "print-sheets-all-ko-print")


def test_sheets_read_on_a_phone(app, live_server, new_page):
    info = seed(app)
    path = f"/roundtables/{info['sid']}/print/tables/2"
    page = open_as(new_page, live_server.url, info["lead"], path, PHONE)
    expect(page.locator(".slip-no").first).to_have_text("T02-001")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert_accessible(page)
    save_screenshot(page, "print-sheets-phone")
