"""A live room survives its server going away (issue 18), in real Chromium: every page's socket
is cut as a dead worker would cut it, new connections are refused for a while, and the pages
come back by themselves (backoff with jitter): the participant back in her seat with a fresh
snapshot, her vote whose acknowledgement was lost sent again with the same client id and
counted once, the lead's console and the projector showing "reconnecting" while away."""

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import models, polls, sessions
from deliberation.roundtables.models import PollVote, RoundtableSession
from tests.browser.conftest import browser_login, save_screenshot
from tests.browser.test_roundtables import seed_running_session
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SOCKETS = re.compile(r"/socket\.io/")
RECONNECTING = "Connection lost. Reconnecting…"
RECONNECTING_KO = "연결이 끊겼습니다. 다시 연결하는 중…"


class FaultyServer:
    """Every page's socket passes through here: `kill()` cuts them all and refuses new ones
    until `restore()`; `lose_vote_ack` swallows the acknowledgement of the next poll_vote and
    cuts that socket, so the vote is written but the page never hears it."""

    def __init__(self) -> None:
        self.routes: list = []
        self.down = False
        self.lose_vote_ack = False
        self.frames_to_server: list[str] = []
        self.acks_to_page: list[str] = []

    def attach(self, page) -> None:
        page.route_web_socket(SOCKETS, self.handle)

    def handle(self, ws) -> None:
        if self.down:  # the worker is dead: nothing answers
            ws.close()
            return
        server = ws.connect_to_server()
        self.routes.append(ws)
        vote_acks: set[str] = set()

        def to_server(message) -> None:
            if isinstance(message, str) and '"poll_vote"' in message:
                self.frames_to_server.append(message)
                vote_acks.add(re.match(r"42/roundtable,(\d+)\[", message).group(1))
            server.send(message)

        def to_page(message) -> None:
            found = isinstance(message, str) and re.match(r"43/roundtable,(\d+)\[", message)
            if found and found.group(1) in vote_acks:
                self.acks_to_page.append(message)
                if self.lose_vote_ack:
                    self.lose_vote_ack = False
                    self.kill()
                    return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    def kill(self) -> None:
        self.down = True
        for route in self.routes:
            route.close()
        self.routes.clear()

    def restore(self) -> None:
        self.down = False


def votes_in_database(app, poll_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(PollVote).where(PollVote.poll_id == poll_id)
        )


def test_pages_reconnect_rejoin_and_resend_an_unacknowledged_vote(app, live_server, new_page):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        lead_user = db.session.get(User, session.lead_id)
        for phase in (models.Phase.DISCUSSION, models.Phase.SUBMISSIONS, models.Phase.SYNTHESIS,
                      models.Phase.POLL):  # fmt: skip
            sessions.set_phase(lead_user, session, phase)
        poll = polls.open_poll(lead_user, session, models.PollKind.QUESTION, "Meet again?",
                               ["Yes", "No"])  # fmt: skip
        minsu = db.session.scalar(select(User).where(User.email == seed["table2"][0]))
        minsu.preferred_language = "ko"  # a Korean reader at the other table
        db.session.commit()
        poll_id = poll.id
    fault = FaultyServer()
    pages = {}
    for name, email, path in (
        ("lead", seed["lead"], f"/roundtables/{sid}/console"),
        ("alice", seed["table1"][0], f"/roundtables/{sid}/room"),
        ("projector", None, f"/roundtables/projector/{seed['token']}"),
        ("minsu", seed["table2"][0], f"/roundtables/{sid}/room"),
    ):
        phone = name in ("alice", "minsu")
        page = new_page(viewport={"width": 390, "height": 844} if phone else None)
        fault.attach(page)
        if email:
            browser_login(page, base, email, PASSWORD)
        page.goto(base + path)
        pages[name] = page
    lead, alice, projector, minsu = (pages[n] for n in ("lead", "alice", "projector", "minsu"))
    for page in (lead, alice):
        expect(page.locator("#rt-connection")).to_have_text("Connected.")
    expect(alice.locator("#rt-poll legend")).to_have_text("Meet again?")

    # Alice votes; the server writes it, but the worker dies before her page hears the answer.
    fault.lose_vote_ack = True
    alice.check("#rt-poll input[type=radio] >> nth=0")
    alice.click("#rt-poll button[type=submit]")
    expect(alice.locator("#rt-connection")).to_have_text(RECONNECTING)
    fault.kill()  # the lead and the projector were on the same worker
    expect(lead.locator("#rt-connection")).to_have_text(RECONNECTING)
    expect(projector.locator("#rt-connection")).to_have_text(RECONNECTING)
    expect(minsu.locator("#rt-connection")).to_have_text(RECONNECTING_KO)
    assert votes_in_database(app, poll_id) == 1
    assert len(fault.acks_to_page) == 1 and '"ok":true' in fault.acks_to_page[0]
    expect(alice.locator("#rt-vote-status")).not_to_have_text("Your vote is counted.")
    save_screenshot(alice, "reconnect-alice-away")
    save_screenshot(lead, "reconnect-lead-away")
    save_screenshot(projector, "reconnect-projector-away")
    save_screenshot(minsu, "reconnect-minsu-ko-away")
    alice.wait_for_timeout(1500)  # a few refused attempts: the backoff keeps trying

    # The worker is back: every page reconnects by itself, rejoins and takes a fresh snapshot.
    fault.restore()
    restored = time.monotonic()
    # Each page waits its own random backoff (up to the cap), so each gets the same time.
    for page, connected in ((lead, "Connected."), (alice, "Connected."),
                            (projector, "Connected."), (minsu, "연결되었습니다.")):  # fmt: skip
        expect(page.locator("#rt-connection")).to_have_text(connected, timeout=20_000)
    # The attempts refused while away closed before the handshake: each counts as refused at
    # once, so the next try comes within the backoff's cap (10 s), not socket.io-client's 20 s
    # opening timeout (18-20 s here before live.js watched for it).
    assert time.monotonic() - restored < 12
    expect(alice.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    # The rejoin's snapshot already shows the vote as counted; live.js sends the vote again
    # only after applying it, and the answer comes later still: wait for that answer (the
    # proxy's handlers run only while Playwright waits, hence wait_for_timeout, not sleep).
    deadline = time.monotonic() + 10
    while len(fault.acks_to_page) < 2 and time.monotonic() < deadline:
        alice.wait_for_timeout(50)
    # Sent again with the same client id; the server answered "repeat" and counted it once.
    assert len(fault.frames_to_server) == 2
    first, again = (re.search(r'"client_id":"(\w+)"', f).group(1) for f in fault.frames_to_server)
    assert first == again
    assert '"repeat":true' in fault.acks_to_page[-1]
    assert votes_in_database(app, poll_id) == 1
    expect(lead.locator("#rt-poll .rt-total")).to_have_text("1 vote")
    # Live again: a phase change reaches the participant and the projector as a broadcast.
    lead.select_option("#rt-phase-select", "results")
    lead.click("#rt-phase-form button[type=submit]")
    expect(alice.locator("#rt-phase")).to_have_text("Results")
    save_screenshot(alice, "reconnect-alice-back")
    save_screenshot(lead, "reconnect-lead-back")
    save_screenshot(projector, "reconnect-projector-back")
    save_screenshot(minsu, "reconnect-minsu-ko-back")
    for page in pages.values():
        assert page.script_errors == []
