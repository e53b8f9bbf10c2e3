"""In real Chromium on a 390 px phone, in Korean: the survey results chart labels every
statement in full (none skipped, none cut off at the canvas's edge) at the page's body text
size, and the tables with the same figures stay below it."""

import pytest

from deliberation.accounts.models import Role
from deliberation.evaluations import services as evaluations
from deliberation.evaluations.models import QUESTION_BANK
from deliberation.extensions import db
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.evaluations.helpers import make_session, seat
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

# Each statement the chart draws, as its wrapped lines, where they are drawn and how wide.
CHART_LABELS = """() => {
  const canvas = document.getElementById('survey-chart');
  const chart = canvas.chart;
  const y = chart.scales.y;
  const context = canvas.getContext('2d');
  context.font = Chart.helpers.toFont(y.options.ticks.font).string;
  return {
    ticks: y.ticks.length,
    fontSize: Chart.helpers.toFont(y.options.ticks.font).size,
    bodySize: parseFloat(getComputedStyle(document.body).fontSize),
    items: y._labelItems.map(item => {
      const lines = [].concat(item.label);
      const widest = Math.max(...lines.map(line => context.measureText(line).width));
      const x = item.options.translation[0];
      const left = item.options.textAlign === 'right' ? x - widest : x;
      return {text: lines.join(' '), left: left, top: item.options.translation[1]};
    }),
    canvasWidth: chart.width,
    canvasHeight: chart.height,
  };
}"""


def test_every_statement_is_labelled_in_full_on_a_korean_phone(app, live_server, new_page):
    base = live_server.url
    with app.app_context():
        session = make_session()
        survey = evaluations.create_survey(
            make_user(Role.ADMIN),
            session,
            title="원탁회의는 어땠나요?",
            question_keys=list(QUESTION_BANK),
        )
        db.session.commit()
        for n in range(6):
            ratings = {key: 1 + (n + position) % 5 for position, key in enumerate(QUESTION_BANK)}
            evaluations.answer_survey(seat(session), survey, ratings)
        db.session.commit()
        survey_id = survey.id
        make_user(email="citizen-ko@example.org", language="ko")

    page = new_page(viewport={"width": 390, "height": 844})
    browser_login(page, base, "citizen-ko@example.org", PASSWORD)
    page.goto(f"{base}/evaluations/{survey_id}/results")
    page.wait_for_selector("#survey-chart[data-ready='5']")
    statements = page.locator(".survey-question h2").all_inner_texts()
    assert len(statements) == len(QUESTION_BANK)
    assert statements[0] == "나는 이 과정이 어떻게 진행되는지 이해했다."

    drawn = page.evaluate(CHART_LABELS)
    # every statement has its label (Chart.js skips labels that do not fit unless told not to)
    assert drawn["ticks"] == len(statements)
    assert [item["text"] for item in drawn["items"]] == statements
    for item in drawn["items"]:
        # within the canvas: a label wider than the room was cut off at the left edge
        assert item["left"] >= 0, item
        assert 0 <= item["top"] <= drawn["canvasHeight"], item
    # at least the size of the page's text, which elderly users can read (11 px was not)
    assert drawn["fontSize"] >= drawn["bodySize"] >= 16
    # the lines of neighbouring statements do not run into each other
    tops = [item["top"] for item in drawn["items"]]
    assert all(b > a for a, b in zip(tops, tops[1:], strict=False))

    # the figures stay in tables for screen readers, and nothing scrolls sideways
    assert page.locator("#q-overall table[data-kind=all]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.script_errors == []
    assert_accessible(page)
    save_screenshot(page, "survey-chart-phone-ko")
