"""The shared live client (static/js/live.js) in real Chromium against the real server: a page
whose socket drops catches up on what another person changed meanwhile (a roundtable, a ballot's
turnout), and a broadcast lost in transit is noticed by the next one's sequence number and
fetched as a snapshot."""

import re
import time

import pytest
from playwright.sync_api import expect

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Phase, RoundtableSession
from tests.browser.conftest import browser_login
from tests.browser.test_roundtables import open_as, seed_running_session
from tests.factories import PASSWORD, make_division, make_user
from tests.voting.support import make_ballot, make_item

pytestmark = pytest.mark.browser

CLIENT = "window.MadangLive.clients[0]"


def session_seq(app, sid: int) -> int:
    with app.app_context():
        return db.session.get(RoundtableSession, sid).seq


def test_a_dropped_socket_reconnects_and_catches_up(app, live_server, new_page):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")
    alice = open_as(new_page, base, seed["table1"][0], f"/roundtables/{sid}/room")
    expect(alice.locator("#rt-connection")).to_have_text("Connected.")
    expect(alice.locator("#rt-phase")).to_have_text("Briefing")

    alice.evaluate(f"{CLIENT}.socket.disconnect()")
    expect(alice.locator("#rt-connection")).to_have_text("Connection lost. Reconnecting…")
    lead.select_option("#rt-phase-select", "discussion")
    lead.click("#rt-phase-form button[type=submit]")
    expect(lead.locator("#rt-phase")).to_have_text("Table discussion")
    lead.fill("#rt-broadcast-text", "Sent while Alice was away")
    lead.click("#rt-broadcast-form button[type=submit]")
    expect(lead.locator("#rt-broadcast-text")).to_have_value("")
    time.sleep(0.5)
    expect(alice.locator("#rt-phase")).to_have_text("Briefing")  # nothing reached her

    alice.evaluate(f"{CLIENT}.socket.connect()")
    expect(alice.locator("#rt-phase")).to_have_text("Table discussion")
    expect(alice.locator("#rt-connection")).to_have_text("Connected.")
    assert alice.evaluate(f"{CLIENT}.seq") == session_seq(app, sid)
    # Live again: the next change arrives as a broadcast.
    lead.select_option("#rt-phase-select", "submissions")
    lead.click("#rt-phase-form button[type=submit]")
    expect(alice.locator("#rt-phase")).to_have_text("Table submissions")
    assert alice.evaluate(f"{CLIENT}.seq") == session_seq(app, sid)
    assert alice.script_errors == [] and lead.script_errors == []


def test_a_broadcast_lost_in_transit_is_fetched_after_the_next_one(app, live_server, new_page):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        lead_user = db.session.get(User, session.lead_id)
        for phase in (Phase.DISCUSSION, Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL):
            sessions.set_phase(lead_user, session, phase)
        db.session.commit()
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")

    # Alice's socket passes through a proxy that loses the first "poll_opened" frame.
    lost: list[str] = []
    alice = new_page()

    def lossy(ws):
        server = ws.connect_to_server()

        def to_page(message):
            if not lost and isinstance(message, str) and '"poll_opened"' in message:
                lost.append(message)
                return
            ws.send(message)

        server.on_message(to_page)

    alice.route_web_socket(re.compile(r"/socket\.io/"), lossy)
    browser_login(alice, base, seed["table1"][0], PASSWORD)
    alice.goto(f"{base}/roundtables/{sid}/room")
    expect(alice.locator("#rt-connection")).to_have_text("Connected.")
    expect(alice.locator("#rt-phase")).to_have_text("Room poll")

    lead.select_option("#rt-poll-kind", "question")
    lead.fill("#rt-poll-question", "Meet again next month?")
    lead.fill("#rt-poll-options", "Yes\nNo")
    lead.click("#rt-poll-form-open button[type=submit]")
    expect(lead.locator("#rt-poll legend")).to_have_text("Meet again next month?")
    # The broadcast reaches Alice's proxy a moment after the lead's page: wait for it (the
    # proxy's handler runs only while Playwright waits, hence wait_for_timeout, not sleep).
    deadline = time.monotonic() + 5
    while not lost and time.monotonic() < deadline:
        alice.wait_for_timeout(50)
    expect(alice.locator("#rt-poll")).to_contain_text("No poll is open.")
    assert len(lost) == 1  # the frame really was lost; Alice's page has not seen the poll

    # The next broadcast is two ahead: Alice's page asks for a snapshot and shows the poll.
    lead.click("#rt-poll-close")
    lead.click("#rt-confirm-ok")  # closing a poll asks first
    expect(alice.locator("#rt-poll legend")).to_have_text("Meet again next month?")
    expect(alice.locator("#rt-poll input[type=radio]")).to_have_count(2)
    expect(alice.locator("#rt-poll input[type=radio]:enabled")).to_have_count(0)  # closed
    assert alice.evaluate(f"{CLIENT}.seq") == session_seq(app, sid)
    assert alice.script_errors == [] and lead.script_errors == []


def test_ballot_turnout_catches_up_after_a_reconnect(app, live_server, new_page):
    """/voting's seq is one counter for the whole site: no gaps, but the same catch-up."""
    with app.app_context():
        division = make_division("elderly")
        citizen = make_user(email="citizen@example.org", divisions=[division])
        make_user(Role.OFFICIAL, email="official@example.org")
        ballot_id = make_ballot(make_item(division, citizen), minutes=30).id
    watcher = new_page()
    browser_login(watcher, live_server.url, "official@example.org", PASSWORD)
    watcher.goto(f"{live_server.url}/voting/{ballot_id}")
    watcher.wait_for_function("() => window.madangVoting && window.madangVoting.joined")
    watcher.evaluate(f"{CLIENT}.socket.disconnect()")

    voter = new_page()
    browser_login(voter, live_server.url, "citizen@example.org", PASSWORD)
    voter.goto(f"{live_server.url}/voting/{ballot_id}")
    voter.check("input[name=choice][value=yes]")
    voter.click("form.vote-form button[type=submit]")
    voter.wait_for_selector("#my-receipt")
    time.sleep(0.5)  # the coalesced broadcast has gone out, without the watcher
    expect(watcher.locator("#turnout-voted")).to_have_text("0")

    watcher.evaluate(f"{CLIENT}.socket.connect()")
    expect(watcher.locator("#turnout-voted")).to_have_text("1")
    assert watcher.evaluate(f"{CLIENT}.seq") > 0
    assert watcher.script_errors == [] and voter.script_errors == []
