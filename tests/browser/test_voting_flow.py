"""In real Chromium: a citizen votes and checks the receipt after the scheduler closes the
ballot; an official responds; the citizen sees the response arrive on the timeline."""

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.proposals import services as proposals
from deliberation.proposals.models import Proposal
from deliberation.voting.models import Ballot
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_division, make_user
from tests.voting.support import make_ballot, make_due, make_item

pytestmark = pytest.mark.browser


def _seed(app):
    with app.app_context():
        division = make_division("elderly")
        citizen = make_user(email="citizen@example.org", name="Citizen Choi", divisions=[division])
        make_user(Role.OFFICIAL, email="official@example.org", name="Official Park")
        item = make_item(division, citizen, title="Evening hours at senior centres")
        return make_ballot(item, minutes=30).id


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_vote_verify_receipt_and_follow_the_official_response(app, live_server, new_page):
    ballot_id = _seed(app)
    # Someone else watches the ballot's live turnout.
    watcher = new_page()
    browser_login(watcher, live_server.url, "official@example.org", PASSWORD)
    watcher.goto(f"{live_server.url}/voting/{ballot_id}")
    watcher.wait_for_function("() => window.madangVoting && window.madangVoting.joined")
    assert watcher.locator("#turnout-voted").inner_text() == "0"

    citizen = new_page()
    browser_login(citizen, live_server.url, "citizen@example.org", PASSWORD)
    citizen.goto(f"{live_server.url}/voting/{ballot_id}")
    assert_accessible(citizen)
    citizen.check("input[name=choice][value=yes]")
    citizen.click("form.vote-form button[type=submit]")
    citizen.wait_for_selector("#my-receipt")
    assert citizen.locator("text=Your vote was recorded.").is_visible()
    receipt = citizen.locator("#my-receipt").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", receipt)
    assert citizen.locator("#turnout-voted").inner_text() == "1"
    watcher.wait_for_function(
        "() => document.getElementById('turnout-voted').textContent === '1'", timeout=5000
    )
    assert_accessible(citizen)
    save_screenshot(citizen, "voting-ballot")

    # The closing time passes; the server's scheduler closes the ballot without anyone clicking.
    with app.app_context():
        make_due(ballot_id)

    def closed():
        with app.app_context():
            return db.session.get(Ballot, ballot_id).state.value == "closed"

    assert _wait_for(closed), "the scheduler did not close the ballot"
    # The open page reloads itself on the live "closed" event; navigating at the same moment
    # races that reload, so wait for it and navigate only if the event never came.
    try:
        citizen.wait_for_selector(".outcome >> text=Adopted", timeout=10_000)
    except PlaywrightTimeoutError:
        citizen.goto(f"{live_server.url}/voting/{ballot_id}")
    citizen.wait_for_load_state()
    assert citizen.locator(".outcome >> text=Adopted").is_visible()
    citizen.click("text=Check the receipts and recount the tally")
    expect(citizen.locator("#recount-verdict >> text=The recount matches")).to_be_visible()
    citizen.fill("#receipt", receipt.lower().replace("-", " "))
    citizen.click(".lookup-form button[type=submit]")
    assert citizen.locator("#lookup-result").inner_text().strip() == (
        f"Receipt {receipt} was counted as: Yes."
    )
    assert "Citizen Choi" not in citizen.locator("main").inner_text()
    assert_accessible(citizen)

    with app.app_context():
        proposal_id = db.session.scalar(db.select(Proposal.id))
    # The citizen follows the proposal while the official works on it.
    citizen.goto(f"{live_server.url}/proposals/{proposal_id}")
    assert_accessible(citizen)

    official = new_page()
    browser_login(official, live_server.url, "official@example.org", PASSWORD)
    official.goto(f"{live_server.url}/proposals/")
    assert_accessible(official)
    official.click(f"a[href='/proposals/{proposal_id}']")
    official.click("text=Start review")
    official.wait_for_selector("#response-text")
    official.click(".official-actions button[type=submit]")  # no text: refused, clear message
    expect(official.locator("text=Please write the public response.").first).to_be_visible()
    official.select_option("#response-decision", "accepted")
    official.fill("#response-text", "Accepted: centres open until 9 pm from March.")
    official.click(".official-actions button[type=submit]")
    official.wait_for_selector("#official-response")
    assert_accessible(official)
    save_screenshot(official, "proposal-responded")

    # The citizen's open page hears the new step and shows the response.
    citizen.wait_for_selector(
        "#official-response >> text=centres open until 9 pm from March", timeout=10_000
    )
    assert citizen.locator("#timeline >> text=Officials responded").is_visible()
    citizen.goto(f"{live_server.url}/proposals/notifications")
    assert citizen.locator("#notification-list li").count() >= 3
    assert_accessible(citizen)
    assert citizen.script_errors == [] and official.script_errors == []


def test_ballot_page_fits_a_phone(app, live_server, new_page):
    ballot_id = _seed(app)
    page = new_page(viewport={"width": 360, "height": 740})
    browser_login(page, live_server.url, "citizen@example.org", PASSWORD)
    page.goto(f"{live_server.url}/voting/{ballot_id}")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.goto(f"{live_server.url}/proposals/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_step_added_while_the_page_loads_is_not_missed(app, live_server, new_page):
    """A step committed after the page was rendered but before its socket followed the
    proposal: the follow's answer shows the page is behind, and the page catches up."""
    with app.app_context():
        make_user(email="citizen@example.org")
        official = make_user(Role.OFFICIAL, email="official@example.org")
        proposal = proposals.create_proposal(
            title="Evening hours", summary="Open late", snapshot={}
        )
        db.session.commit()
        proposal_id, official_id = proposal.id, official.id
    page = new_page()
    browser_login(page, live_server.url, "citizen@example.org", PASSWORD)

    def review_starts_meanwhile(route):
        # Runs once the page's HTML has arrived, before its Socket.IO client loads.
        with app.app_context():
            proposals.start_review(
                db.session.get(User, official_id), db.session.get(Proposal, proposal_id)
            )
            db.session.commit()
        route.continue_()

    page.route("**/vendor/socket.io.min.js", review_starts_meanwhile, times=1)
    page.goto(f"{live_server.url}/proposals/{proposal_id}")
    page.wait_for_selector("#timeline >> text=Review started", timeout=10_000)
    assert page.locator("#timeline li").count() == 2
    assert page.script_errors == []


def test_an_empty_vote_is_stopped_by_the_browser_before_it_is_sent(app, live_server, new_page):
    """Nothing chosen: Chromium holds the form (the radio group is required) and no request
    goes out; the page stays the ballot with nothing recorded."""
    ballot_id = _seed(app)
    citizen = new_page()
    browser_login(citizen, live_server.url, "citizen@example.org", PASSWORD)
    citizen.goto(f"{live_server.url}/voting/{ballot_id}")
    posts: list[str] = []
    citizen.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    citizen.click("form.vote-form button[type=submit]")
    citizen.wait_for_timeout(500)
    assert posts == []
    assert (
        citizen.evaluate("() => document.querySelector('form.vote-form').checkValidity()") is False
    )
    expect(citizen.locator("#my-receipt")).to_have_count(0)
    citizen.check("input[name=choice][value=no]")
    citizen.click("form.vote-form button[type=submit]")
    citizen.wait_for_selector("#my-receipt")
