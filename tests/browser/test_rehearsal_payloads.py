"""The rehearsal is the browser: every event a real Chromium sends while a roundtable runs
equals what `loadtest.payloads` builds for the rehearsal's clients, and the browser's first
vote is the plain new vote the server's fast path serves (as the rehearsal's is)."""

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from deliberation.extensions import db
from deliberation.roundtables import fast_chat, seats
from deliberation.roundtables.models import Participant
from loadtest import payloads
from tests.browser.conftest import browser_login
from tests.browser.test_roundtables import open_as, seed_running_session
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

#: A Socket.IO EVENT packet in an Engine.IO message: 42, namespace, ack id, JSON array.
EVENT_FRAME = re.compile(r"^42(?:/[^,]*,)?\d*(\[.*\])$", re.S)


def record_sent_events(page: Page) -> list[tuple[str, dict[str, Any]]]:
    """Every Socket.IO event this page sends from now on, as (name, payload)."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def on_frame(frame: str | bytes) -> None:
        match = EVENT_FRAME.match(frame if isinstance(frame, str) else frame.decode())
        if match:
            name, *args = json.loads(match.group(1))
            sent.append((name, args[0] if args else {}))

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return sent


def record_websocket_handshakes(page: Page) -> dict[str, list[dict[str, str]]]:
    """The headers of every WebSocket handshake this page makes from now on (lowercased
    names): what Chromium sends, and what the server answers."""
    seen: dict[str, list[dict[str, str]]] = {"sent": [], "answered": []}
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")

    def lowercased(headers: dict[str, str]) -> dict[str, str]:
        return {name.lower(): value for name, value in headers.items()}

    cdp.on(
        "Network.webSocketWillSendHandshakeRequest",
        lambda event: seen["sent"].append(lowercased(event["request"]["headers"])),
    )
    cdp.on(
        "Network.webSocketHandshakeResponseReceived",
        lambda event: seen["answered"].append(lowercased(event["response"]["headers"])),
    )
    return seen


def what_the_rehearsal_sends(name: str, f: dict[str, Any]) -> dict[str, Any]:
    """`loadtest.payloads`' payload for the same event and values as a captured frame."""
    sid = f["session_id"]
    builders = {
        "join": lambda: payloads.join(sid),
        "chat_send": lambda: payloads.chat_send(sid, f["text"], f["client_id"]),
        "idea_add": lambda: payloads.idea_add(sid, f["table_id"], f["text"], f["client_id"]),
        "ideas_submit": lambda: payloads.ideas_submit(sid, f["table_id"]),
        "poll_vote": lambda: payloads.poll_vote(
            sid, f["poll_id"], f["option_id"], f["client_id"], change=f["change"]
        ),
        "phase_set": lambda: payloads.phase_set(sid, f["phase"], f.get("duration_s")),
        "theme_create": lambda: payloads.theme_create(
            sid, f["name"], f["idea_ids"], f["description"]
        ),
        "themes_publish": lambda: payloads.themes_publish(sid),
        "poll_open": lambda: payloads.poll_open(
            sid, f["kind"], f["question"], f["options"], f.get("duration_s")
        ),
        "poll_close": lambda: payloads.poll_close(sid, f["poll_id"]),
    }
    return builders[name]()


def test_every_event_the_rehearsal_drives_is_sent_as_the_browser_sends_it(
    app, live_server, new_page
):
    seed = seed_running_session(app)
    base, sid = live_server.url, seed["sid"]
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")
    facilitator_page = new_page()
    facilitator_sent = record_sent_events(facilitator_page)
    citizen_page = new_page(viewport={"width": 390, "height": 844})
    citizen_sent = record_sent_events(citizen_page)
    citizen_handshakes = record_websocket_handshakes(citizen_page)
    lead_sent = record_sent_events(lead)
    for page, email in ((facilitator_page, seed["facilitator"]), (citizen_page, seed["table1"][0])):
        browser_login(page, base, email, PASSWORD)
        page.goto(f"{base}/roundtables/{sid}/room")
        expect(page.locator("#rt-seat")).to_contain_text("table")
    lead.reload()  # the lead's join, recorded
    expect(lead.locator("#rt-tables tr")).to_have_count(2)

    def set_phase(phase: str, minutes: str = "") -> None:
        lead.select_option("#rt-phase-select", phase)
        lead.fill("#rt-phase-minutes", minutes)
        lead.click("#rt-phase-form button[type=submit]")
        expect(citizen_page.locator("#rt-phase")).not_to_have_text("")

    set_phase("discussion", "30")
    expect(citizen_page.locator("#rt-phase")).to_have_text("Table discussion")
    citizen_page.fill("#rt-chat-text", "Hello table")
    citizen_page.press("#rt-chat-text", "Enter")
    expect(facilitator_page.locator("#rt-chat")).to_contain_text("Hello table")
    facilitator_page.fill("#rt-idea-text", "More benches in the park")
    facilitator_page.press("#rt-idea-text", "Enter")
    expect(facilitator_page.locator("#rt-ideas")).to_contain_text("More benches in the park")
    set_phase("submissions")
    expect(facilitator_page.locator("#rt-phase")).to_have_text("Table submissions")
    facilitator_page.click("#rt-ideas-submit")
    expect(facilitator_page.locator("#rt-ideas")).to_contain_text("Submitted")
    team = lead.context.new_page()
    team_sent = record_sent_events(team)
    team.goto(f"{base}/roundtables/{sid}/themes")
    expect(team.locator("#rt-incoming")).to_contain_text("More benches in the park")
    team.check("#rt-incoming input[type=checkbox]")
    team.fill("#rt-theme-name", "Green public space")
    team.click("#rt-theme-form button[type=submit]")
    expect(team.locator("#rt-theme-list")).to_contain_text("Green public space")
    set_phase("synthesis")
    expect(team.locator("#rt-phase")).to_have_text("Theme synthesis")
    team.click("#rt-publish")
    expect(citizen_page.locator("#rt-themes")).to_contain_text("Green public space")
    set_phase("poll")
    lead.select_option("#rt-poll-kind", "choose_one")
    lead.fill("#rt-poll-question", "Which first?")
    lead.click("#rt-poll-form-open button[type=submit]")
    expect(citizen_page.locator("#rt-poll legend")).to_have_text("Which first?")
    citizen_page.check("#rt-poll input[type=radio]")
    citizen_page.click("#rt-poll button[type=submit]")
    expect(citizen_page.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    lead.click("#rt-poll-close")
    lead.click("#rt-confirm-ok")  # closing a poll asks first
    expect(citizen_page.locator("#rt-poll button[type=submit]")).to_have_count(0)

    # The handshake too: the rehearsal offers the extensions Chromium offers, and the server
    # declines compression for both (core/websocket_compression.py).
    assert citizen_handshakes["sent"] and citizen_handshakes["answered"]
    offered = {h.get("sec-websocket-extensions") for h in citizen_handshakes["sent"]}
    assert offered == {payloads.WEBSOCKET_EXTENSIONS}
    assert not any(h.get("sec-websocket-extensions") for h in citizen_handshakes["answered"])

    sent = lead_sent + facilitator_sent + citizen_sent + team_sent
    checked = set()
    for name, frame in sent:
        # Reads that refresh a page (the console, the room, a facilitator's paper panel), not
        # events the rehearsal's participants drive.
        if name in ("console", "snapshot", "paper_list"):
            continue
        assert frame == what_the_rehearsal_sends(name, frame), name
        checked.add(name)
    assert checked >= {
        "join", "chat_send", "idea_add", "ideas_submit", "phase_set", "theme_create",
        "themes_publish", "poll_open", "poll_vote", "poll_close",
    }  # fmt: skip

    # The browser's first vote is the plain new vote the fast path serves, like the
    # rehearsal's (tests/roundtables/test_bad_input.py shows what that path does with it).
    vote = next(frame for name, frame in citizen_sent if name == "poll_vote")
    with app.app_context():
        voter = db.session.scalar(
            select(Participant).where(
                Participant.session_id == sid,
                Participant.user.has(email=seed["table1"][0]),
            )
        )
        seat = seats.Seat(
            sid, voter.id, voter.user_id, voter.role, voter.table_id,
            voter.member_category, False, (), session_token="the-login-token",
        )  # fmt: skip
    assert seats.is_plain_new_vote(seat, vote)
    rehearsal_vote = payloads.poll_vote(sid, vote["poll_id"], vote["option_id"], "c" * 32)
    assert seats.is_plain_new_vote(seat, rehearsal_vote)
    # The same for a chat line: the browser's and the rehearsal's take the chat's fast path.
    line = next(frame for name, frame in citizen_sent if name == "chat_send")
    assert fast_chat.is_plain_chat(seat, line)
    assert fast_chat.is_plain_chat(seat, payloads.chat_send(sid, "Hello table", "c" * 32))
