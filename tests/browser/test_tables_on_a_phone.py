"""In real Chromium at 390 px: the results tables of a ballot and the officials' queue stay
readable on a phone. A percentage stays on one line with its sign, a division's name is never
broken inside a word (Korean: between syllables), and a proposal's title gets a column wide
enough for several words a line; a wide table scrolls sideways in its own region instead."""

import pytest

from deliberation.accounts.models import Division, User
from deliberation.extensions import db
from deliberation.voting import services as voting
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.voting.support import close_now, make_ballot, make_crowd, make_item

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TITLE = "Longer opening hours for the senior welfare centre in the northern district"

#: For an element: how many lines its text takes, and which of its words run over two lines.
MEASURE = """el => {
  const tops = rects => new Set([...rects].filter(r => r.width > 0).map(r => Math.round(r.top)));
  const whole = document.createRange();
  whole.selectNodeContents(el);
  const broken = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const m of node.data.matchAll(/\\S+/g)) {
      const word = document.createRange();
      word.setStart(node, m.index);
      word.setEnd(node, m.index + m[0].length);
      if (tops(word.getClientRects()).size > 1) broken.push(m[0]);
    }
  }
  return {lines: tops(whole.getClientRects()).size, broken: broken, text: el.textContent.trim()};
}"""


def _closed_ballot_with_a_proposal(app) -> int:
    """Six social welfare workers all vote yes; the ballot closes and its proposal is queued."""
    with app.app_context():
        welfare = Division(
            slug="welfare-workers", name_en="Social welfare workers", name_ko="사회복지 종사자"
        )
        db.session.add(welfare)
        db.session.flush()
        make_user(email="ko@example.org", language="ko")
        make_user(email="en@example.org", language="en")
        ballot = make_ballot(make_item(division=welfare, title=TITLE), division_ids=[welfare.id])
        for uid in make_crowd(6, division=welfare):
            voting.cast_vote(ballot.id, db.session.get(User, uid), "yes", f"phone-{uid}-vote")
            db.session.commit()
        close_now(ballot.id)
        return ballot.id


def test_results_and_queue_tables_read_well_on_a_phone(app, live_server, new_page):
    ballot_id = _closed_ballot_with_a_proposal(app)

    page = new_page(viewport=PHONE)
    browser_login(page, live_server.url, "ko@example.org", PASSWORD)
    page.goto(f"{live_server.url}/voting/{ballot_id}")
    table = page.locator("table", has=page.locator("th[scope=row]", has_text="사회복지 종사자"))
    row = table.locator("tr", has=page.locator("th[scope=row]", has_text="사회복지 종사자"))
    name = row.locator("th[scope=row]").evaluate(MEASURE)
    assert name["broken"] == [], name
    turnout = row.locator("td").nth(2).evaluate(MEASURE)
    assert turnout == {"lines": 1, "broken": [], "text": "100.0%"}
    for cell in table.locator("td").all():  # every figure on one line, with its unit
        measured = cell.evaluate(MEASURE)
        assert measured["lines"] == 1, measured
    assert_accessible(page, applies=("scrollable-region-focusable",))
    save_screenshot(page, "phone-ballot-results-ko")

    page.goto(f"{live_server.url}/proposals/")
    title = page.locator(".queue-table td.title a").evaluate(MEASURE)
    assert title["broken"] == [] and title["lines"] <= 4, title
    for cell in page.locator(
        ".queue-table th, .queue-table td"
    ).all():  # 시민 평가, 사회복지 종사자
        measured = cell.evaluate(MEASURE)
        assert measured["broken"] == [], measured
    save_screenshot(page, "phone-queue-ko")
    page.locator(".table-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    save_screenshot(page, "phone-queue-ko-scrolled")

    english = new_page(viewport=PHONE)
    browser_login(english, live_server.url, "en@example.org", PASSWORD)
    english.goto(f"{live_server.url}/proposals/")
    title = english.locator(".queue-table td.title a").evaluate(MEASURE)
    words = len(TITLE.split())
    assert title["broken"] == [] and title["lines"] <= words // 3, title  # not a word a line
    due = english.locator(".queue-table td.due").evaluate(MEASURE)
    assert due["broken"] == [], due
    # The day and the time of the due date share a line.
    day_and_time = english.locator(".queue-table td.due").evaluate(
        """el => {
          const node = el.firstChild, range = document.createRange();
          range.setStart(node, 0);
          range.setEnd(node, 16);
          return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        }"""
    )
    assert day_and_time == 1
    assert_accessible(english, applies=("scrollable-region-focusable",))
    save_screenshot(english, "phone-queue-en")
    english.locator(".table-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    save_screenshot(english, "phone-queue-en-scrolled")
    english.goto(f"{live_server.url}/voting/{ballot_id}")
    save_screenshot(english, "phone-ballot-results-en")
    assert page.script_errors == [] and english.script_errors == []
