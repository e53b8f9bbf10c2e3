"""The consensus summary page in Chromium: the opinion map draws, axe-core finds nothing."""

import re

import pytest

from deliberation.accounts.models import User
from deliberation.extensions import db
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


def test_summary_page_on_a_phone_and_printable_page(app, imported_item_id, live_server, new_page):
    with app.app_context():  # a closed roundtable about the item: its polls join the summary
        run = run_session(item_ids=(imported_item_id,))
        lead_email = db.session.get(User, run["lead_id"]).email
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(f"{live_server.url}/summaries/items/{imported_item_id}")
    page.wait_for_selector("#opinion-map[data-ready='2']")
    assert page.locator("#roundtables table").count() == 2
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert_accessible(page)
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
