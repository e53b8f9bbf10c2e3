"""The consensus summary page in Chromium: the opinion map draws, axe-core finds nothing."""

import re

import pytest

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.models import ThemeDestination
from deliberation.summaries.polis_files import read_polis_export
from deliberation.summaries.services import import_polis_export, refresh_summary
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD
from tests.roundtables.results_helpers import run_session
from tests.summaries.polis_data import polis_data_dir

pytestmark = pytest.mark.browser


@pytest.fixture
def imported_item_id(app):
    with app.app_context():
        item, _created = import_polis_export(
            read_polis_export(polis_data_dir() / "brexit-consensus")
        )
        refresh_summary(item.id)  # as `flask import-polis` does
        db.session.commit()
        return item.id


def test_summary_page_draws_the_opinion_map_and_is_accessible(
    app, imported_item_id, live_server, new_page
):
    page = new_page()
    page.goto(f"{live_server.url}/summaries/items/{imported_item_id}")
    page.wait_for_selector("#opinion-map[data-ready='2']")
    points = page.evaluate(
        "() => document.getElementById('opinion-map').chart.data.datasets.map(d => d.data.length)"
    )
    assert len(points) == 2 and sum(points) == 189
    legend = page.evaluate(
        "() => document.getElementById('opinion-map').chart.data.datasets.map(d => d.label)"
    )
    assert legend == ["Group A", "Group B"]
    assert page.locator("#map-alternative tbody tr").count() == 2
    assert page.get_by_role("heading", name="What every group agrees on").is_visible()
    assert page.script_errors == []
    assert_accessible(page)
    save_screenshot(page, "summary-page")


#: Every wide table scrolls sideways in its own region: focusable, named, scrolled by keyboard.
SCROLLABLE = ("scrollable-region-focusable",)
TABLES_STAY_TABLES = """() => [...document.querySelectorAll('table')].map(
    (t) => getComputedStyle(t).display)"""
OVERFLOWING_REGIONS = """() => [...document.querySelectorAll('.table-scroll')]
    .filter((r) => r.scrollWidth > r.clientWidth)
    .map((r) => [r.getAttribute('role'), r.tabIndex, r.getAttribute('aria-labelledby')])"""


def assert_wide_tables_scroll_by_keyboard(page) -> None:
    """At 360 px the page itself does not scroll sideways; each wide table scrolls inside a
    focusable, named region (axe's rule applies and passes) and stays a table; the first one
    scrolls with the arrow keys once focused."""
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert set(page.evaluate(TABLES_STAY_TABLES)) == {"table"}
    regions = page.evaluate(OVERFLOWING_REGIONS)
    assert regions, page.url  # the page has wide tables at this width
    for role, tab_index, labelled_by in regions:
        assert (role, tab_index) == ("region", 0) and labelled_by
        assert page.locator(f"[id='{labelled_by}']").text_content().strip()
    assert_accessible(page, applies=SCROLLABLE)
    first_wide = page.evaluate(
        """() => [...document.querySelectorAll('.table-scroll')]
            .findIndex((r) => r.scrollWidth > r.clientWidth)"""
    )
    region = page.locator(".table-scroll").nth(first_wide)
    region.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    page.wait_for_function(
        "() => document.activeElement.classList.contains('table-scroll') && "
        "document.activeElement.scrollLeft > 0"
    )


def test_summary_page_on_a_phone_and_printable_page(app, imported_item_id, live_server, new_page):
    with app.app_context():  # a closed roundtable about the item: its polls join the summary;
        # its passing theme went to the officials as a proposal (20 people: every category shows)
        run = run_session(
            item_ids=(imported_item_id,), destination=ThemeDestination.PROPOSAL, people=20
        )
        lead_email = db.session.get(User, run["lead_id"]).email
        proposal_id = run["adoption"].proposals[0].id
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(f"{live_server.url}/summaries/items/{imported_item_id}")
    page.wait_for_selector("#opinion-map[data-ready='2']")
    assert page.locator("#roundtables table").count() == 2
    assert_wide_tables_scroll_by_keyboard(page)
    for name, path in (
        ("results", f"/roundtables/{run['session_id']}/results"),
        ("proposal", f"/proposals/{proposal_id}"),
    ):
        page.goto(live_server.url + path)
        assert_wide_tables_scroll_by_keyboard(page)
        save_screenshot(page, f"{name}-360")
    page.goto(f"{live_server.url}/summaries/items/{imported_item_id}/print")
    assert page.locator("#opinion-map").count() == 0
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert page.locator("#map-alternative").is_visible()
    assert page.locator("#roundtables table").first.is_visible()
    assert_accessible(page)
    assert page.script_errors == []
    # the lead's session form lists the item to link, grouped by division, on a phone
    page.emulate_media(media="screen")
    browser_login(page, live_server.url, lead_email, PASSWORD)
    page.goto(f"{live_server.url}/roundtables/new")
    group = page.locator("details.rt-item-group", has_text="Imported conversations")
    if group.get_attribute("open") is None:  # the first division's group starts open
        group.locator("summary").click()
    page.get_by_label(re.compile("Brexit|brexit", re.I)).first.check()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(page)
