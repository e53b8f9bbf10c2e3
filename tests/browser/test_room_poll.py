"""The citizen's room in real Chromium: one vote per press of the button, however fast the
presses come; vote counts in the singular or plural; a chat of only spaces says why it is not
sent."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.models import PollVote, RoundtableSession
from tests.browser.test_roundtables import open_as
from tests.roundtables.helpers import open_poll_in_a_seated_room

pytestmark = pytest.mark.browser

#: Counts the `poll_vote` events the page's live client sends (wraps its socket's emit).
COUNT_VOTES_SENT = """() => {
    const socket = window.MadangLive.clients[0].socket;
    const emit = socket.emit.bind(socket);
    window.votesSent = 0;
    socket.emit = (name, ...rest) => {
        if (name === "poll_vote") window.votesSent += 1;
        return emit(name, ...rest);
    };
}"""


def seed_open_poll(app) -> dict:
    """A seated room in its poll phase with the yes/no poll "Parks first?" open."""
    with app.app_context():
        session, poll, people = open_poll_in_a_seated_room(6)
        return {
            "sid": session.id,
            "poll_id": poll.id,
            "voter": db.session.get(User, people[0]).email,
        }


def test_a_double_click_on_vote_sends_one_vote(app, live_server, new_page):
    seed = seed_open_poll(app)
    room = open_as(new_page, live_server.url, seed["voter"], f"/roundtables/{seed['sid']}/room")
    button = room.locator("#rt-poll button[type=submit]")
    expect(button).to_be_enabled()
    room.evaluate(COUNT_VOTES_SENT)
    room.get_by_label("Yes", exact=True).check()
    button.dblclick()
    expect(room.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Change my vote")
    assert room.evaluate("window.votesSent") == 1
    expect(room.locator("#rt-error")).to_be_empty()
    with app.app_context():
        votes = db.session.scalar(
            select(func.count(PollVote.id)).where(PollVote.poll_id == seed["poll_id"])
        )
        assert votes == 1
    assert room.script_errors == []


def test_one_vote_is_counted_in_the_singular_in_the_room_and_on_the_projector(
    app, live_server, new_page
):
    seed = seed_open_poll(app)
    with app.app_context():
        token = db.session.get(RoundtableSession, seed["sid"]).projector_token
    projector = new_page()
    projector.goto(f"{live_server.url}/roundtables/projector/{token}")
    expect(projector.locator("#rt-total")).to_have_text("0 votes")
    room = open_as(new_page, live_server.url, seed["voter"], f"/roundtables/{seed['sid']}/room")
    room.get_by_label("Yes", exact=True).check()
    room.click("#rt-poll button[type=submit]")
    expect(room.locator("#rt-vote-status")).to_have_text("Your vote is counted.")
    expect(room.locator("#rt-poll .rt-total")).to_have_text("1 vote")
    expect(room.locator("#rt-poll .rt-count").first).to_have_text("1 vote (100%)")
    expect(projector.locator("#rt-total")).to_have_text("1 vote")
    assert room.script_errors == [] and projector.script_errors == []


def test_a_chat_of_only_spaces_is_not_sent_and_says_why(app, live_server, new_page):
    seed = seed_open_poll(app)
    room = open_as(new_page, live_server.url, seed["voter"], f"/roundtables/{seed['sid']}/room")
    room.locator("#rt-more").evaluate("node => { node.open = true; }")
    chat = room.locator("#rt-chat-text")
    chat.fill("   ")
    chat.press("Enter")
    expect(room.locator("#rt-chat-error")).to_have_text("Write a message first.")
    expect(room.locator("#rt-announce")).to_have_text("Write a message first.")
    expect(chat).to_be_focused()
    expect(chat).to_have_attribute("aria-describedby", "rt-chat-error rt-chat-closed")
    expect(room.locator("#rt-chat li")).to_have_count(0)
    chat.fill("Hello table")
    expect(room.locator("#rt-chat-error")).to_be_empty()  # typing clears it
    chat.press("Enter")
    expect(room.locator("#rt-chat li")).to_have_count(1)
    assert room.script_errors == []
