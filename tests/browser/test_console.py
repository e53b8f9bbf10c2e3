"""The lead's console in real Chromium: counts, table filters, answering help in the table's
chat, the poll panel (countdown, turnout, pass or fail by the session's rule), confirmation
dialogs by keyboard and the summary on closing; axe-clean in English and Korean, 1280 and
390 px wide."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions, tables, themes
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    PassRule,
    Phase,
    RoundtableSession,
)
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.browser.test_roundtables import open_as
from tests.factories import PASSWORD
from tests.roundtables.helpers import build_session, cid

pytestmark = pytest.mark.browser


def seed_poll_phase(app, language: str = "en") -> dict:
    """18 participants at three tables of six, facilitators at two of them (the third has
    none), ideas from both, themes "Green parks" and "Better buses" published, the session in
    its poll phase with the rule "more than 50 %"; table 2 asks for help, table 1 has chatted."""
    with app.app_context():
        info = build_session(participants=18, facilitators=2, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        session.pass_rule = PassRule.MORE_THAN
        lead = db.session.get(User, info["lead_id"])
        lead.preferred_language = language
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        facilitators = [sessions.find_participant(session.id, u) for u in info["facilitators"]]
        ideas = [
            tables.add_idea(session, f, f.table_id, f"Idea {n}", cid())["id"]
            for n, f in enumerate(facilitators)
        ]
        sessions.set_phase(lead, session, Phase.SUBMISSIONS)
        for f in facilitators:
            tables.submit_ideas(session, f, f.table_id)
        sessions.set_phase(lead, session, Phase.SYNTHESIS)
        themes.create_theme(lead, session, None, "Green parks", "", [ideas[0]])
        themes.create_theme(lead, session, None, "Better buses", "", [ideas[1]])
        themes.publish_themes(lead, session, None)
        sessions.set_phase(lead, session, Phase.POLL)
        people = db.session.scalars(
            select(Participant)
            .where(
                Participant.session_id == session.id,
                Participant.role == ParticipantRole.PARTICIPANT,
            )
            .order_by(Participant.id)
        ).all()
        numbers = {t.id: t.number for t in tables.session_tables(session.id)}
        first = next(p for p in people if numbers[p.table_id] == 1)
        second = next(p for p in people if numbers[p.table_id] == 2)
        tables.send_chat(session, first, "Hello from table one", cid())
        tables.request_help(session, second)
        voters = [p.user.email for p in people[:3]]
        db.session.commit()
        return {"sid": session.id, "lead": lead.email, "voters": voters}


def choose(page, label: str) -> None:
    page.get_by_label(label, exact=True).check()
    page.click("#rt-poll button[type=submit]")
    expect(page.locator("#rt-vote-status")).not_to_be_empty()


def test_the_lead_runs_poll_help_and_close_from_the_console(app, live_server, new_page):
    seed = seed_poll_phase(app)
    base, sid = live_server.url, seed["sid"]
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")

    # Counts: registered, seated, facilitators apart.
    expect(lead.locator("#rt-counts")).to_contain_text("Registered 20 · seated 18")
    expect(lead.locator("#rt-counts")).to_contain_text("table facilitators 2")
    expect(lead.locator("#rt-tables tr")).to_have_count(3)
    # A table's facilitator is among both its seated and its connected people.
    table1 = lead.locator("#rt-tables tr").filter(
        has=lead.locator("th", has_text=re.compile("^1$"))
    )
    expect(table1.locator("td.rt-cell-seated")).to_have_text("7")
    expect(table1.locator("td.rt-cell-connected")).to_have_text("0 / 7")
    table3 = lead.locator("#rt-tables tr").filter(
        has=lead.locator("th", has_text=re.compile("^3$"))
    )
    expect(table3.locator("td.rt-cell-connected")).to_have_text("0 / 6")
    expect(lead.locator(".rt-tables thead")).to_contain_text("Connected / with a device")
    expect(lead.locator("#rt-console-themes li").first).to_have_text(
        "Green parks · published · tables 1"
    )

    # Filters for many tables.
    lead.select_option("#rt-filter", "no_facilitator")
    expect(lead.locator("#rt-tables tr")).to_have_count(1)
    expect(lead.locator("#rt-tables tr th")).to_have_text("3")
    expect(lead.locator("#rt-tables-shown")).to_have_text("Showing 1 of 3 tables.")
    lead.select_option("#rt-filter", "no_ideas")
    expect(lead.locator("#rt-tables tr th")).to_have_text("3")
    lead.select_option("#rt-filter", "help")
    expect(lead.locator("#rt-tables tr th")).to_have_text("2")
    lead.select_option("#rt-filter", "silent")
    lead.fill("#rt-silent-minutes", "1")
    lead.dispatch_event("#rt-silent-minutes", "change")
    # tables 1 and 2 chatted or wrote ideas just now; table 3 has been silent
    expect(lead.locator("#rt-tables tr")).to_have_count(1)
    expect(lead.locator("#rt-tables tr td.rt-cell-last")).to_have_text("nothing yet")
    lead.select_option("#rt-filter", "all")
    lead.select_option("#rt-sort", "attention")
    expect(lead.locator("#rt-tables tr th").first).to_have_text("2")  # help first

    # Answering help: the table is told, and the lead writes in its chat.
    lead.get_by_role("button", name="Answer table 2").click()
    expect(lead.locator("#rt-action-status")).to_have_text("Table 2 is told you are on the way.")
    expect(lead.locator("#rt-lead-chat")).to_be_visible()
    expect(lead.locator("#rt-lead-chat-text")).to_be_focused()
    lead.fill("#rt-lead-chat-text", "Coming to your table")
    lead.press("#rt-lead-chat-text", "Enter")
    expect(lead.locator("#rt-lead-chat-log")).to_contain_text("Coming to your table")
    expect(lead.locator("#rt-help-list li")).to_have_count(0)

    # The phase control follows the phase: from the poll only legal moves, results next.
    expect(lead.locator("#rt-phase-select")).to_have_value("results")
    expect(lead.locator("#rt-phase-select option[value=briefing]")).to_be_disabled()
    expect(lead.locator("[data-action=lobby_open]")).to_be_disabled()
    expect(lead.locator("#rt-poll-close")).to_be_disabled()

    # A timed poll: countdown, turnout of the seated, pass or fail by "more than 50 %".
    lead.select_option("#rt-poll-kind", "choose_one")
    lead.fill("#rt-poll-question", "Which theme first?")
    lead.fill("#rt-poll-minutes", "3")
    lead.click("#rt-poll-open")
    expect(lead.locator("#rt-poll-state")).to_have_text("Poll open")
    expect(lead.locator("#rt-poll-countdown")).to_have_text(re.compile(r"Closes in [23]:\d\d"))
    expect(lead.locator("#rt-poll-turnout")).to_have_text("0 of 18 seated voted (0%)")
    expect(lead.locator("#rt-poll-rule")).to_have_text(
        "A theme passes with more than 50% of the votes."
    )
    phone = {"width": 390, "height": 844}
    for n, (email, label) in enumerate(
        zip(seed["voters"], ["Green parks", "Better buses", "Green parks"], strict=True)
    ):
        voter = open_as(new_page, base, email, f"/roundtables/{sid}/room", phone if n else None)
        choose(voter, label)
        if n == 1:  # one each: 50 % is not more than half
            expect(lead.locator("#rt-poll-turnout")).to_have_text("2 of 18 seated voted (11%)")
            expect(lead.locator("#rt-poll-results li").first).to_have_text(
                "Green parks: 50% (1) · not passing so far"
            )
    expect(lead.locator("#rt-poll-turnout")).to_have_text("3 of 18 seated voted (17%)")

    # Closing the poll asks first; Escape keeps it open.
    lead.click("#rt-poll-close")
    dialog = lead.locator("#rt-confirm")
    expect(dialog).to_be_visible()
    expect(lead.locator("#rt-confirm-cancel")).to_be_focused()
    lead.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(lead.locator("#rt-poll-close")).to_be_focused()
    expect(lead.locator("#rt-poll-state")).to_have_text("Poll open")
    lead.click("#rt-poll-close")
    lead.click("#rt-confirm-ok")
    expect(lead.locator("#rt-poll-state")).to_have_text("Poll closed: final result")
    expect(lead.locator("#rt-poll-countdown")).to_have_text("")
    results = lead.locator("#rt-poll-results li")
    expect(results.nth(0)).to_have_text("Green parks: 66.7% (2) · passes")
    expect(results.nth(1)).to_have_text("Better buses: 33.3% (1) · does not pass")
    expect(lead.locator("#rt-action-status")).to_have_text("The poll is closed.")
    assert_accessible(lead)
    save_screenshot(lead, "console-en-1280-poll-closed")

    # Closing the session: a dialog by keyboard, then what passed and where it went.
    lead.focus("[data-action=session_close]")
    lead.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(lead.locator("#rt-confirm-title")).to_have_text("Close the session?")
    assert_accessible(lead)
    save_screenshot(lead, "console-en-1280-confirm-close")
    lead.keyboard.press("Tab")
    expect(lead.locator("#rt-confirm-ok")).to_be_focused()
    lead.keyboard.press("Enter")
    summary = lead.locator("#rt-close-summary")
    expect(summary).to_be_visible()
    expect(lead.locator("#rt-close-heading")).to_be_focused()
    expect(summary).to_contain_text("Green parks: 66.7% support · passes → Agenda item")
    expect(summary).to_contain_text("Better buses: 33.3% support · does not pass")
    expect(lead.locator("#rt-close-results")).to_have_attribute(
        "href", f"/roundtables/{sid}/results"
    )
    expect(lead.locator("[data-action=session_close]")).to_be_disabled()
    assert_accessible(lead)
    save_screenshot(lead, "console-en-1280-closed")
    lead.set_viewport_size(phone)
    assert lead.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    save_screenshot(lead, "console-en-390-closed")
    assert lead.script_errors == []

    # The results page on a phone: the rule, pass or fail, headers not one letter a line.
    page = new_page(viewport=phone)
    page.goto(f"{base}/roundtables/{sid}/results")
    expect(page.locator("#rt-pass-rule")).to_contain_text("more than 50%")
    expect(page.locator("table").first).to_contain_text("Passed")
    narrowest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('th, td a')]
            .filter(n => n.textContent.trim().length > 3)
            .map(n => n.getBoundingClientRect().width))"""
    )
    assert narrowest > 40, narrowest
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(page)
    save_screenshot(page, "results-en-390")


def test_the_console_in_korean_on_a_phone(app, live_server, new_page):
    seed = seed_poll_phase(app, language="ko")
    base, sid = live_server.url, seed["sid"]
    phone = {"width": 390, "height": 844}
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console", phone)
    expect(lead.locator("#rt-tables tr")).to_have_count(3)
    expect(lead.locator("#rt-counts")).to_contain_text("등록 20")
    lead.click("[data-action=seat_room]")  # every action says what it did
    expect(lead.locator("#rt-action-status")).to_have_text(
        re.compile(r"자리 배정 완료: 3개 테이블에 18명\. 진행자 없는 테이블: \d\.")
    )
    lead.click("[data-timer=end]")
    expect(lead.locator("#rt-confirm-title")).to_have_text("이 단계를 지금 끝낼까요?")
    assert_accessible(lead)
    lead.keyboard.press("Escape")
    expect(lead.locator("#rt-confirm")).to_be_hidden()
    assert lead.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(lead)
    save_screenshot(lead, "console-ko-390")
    lead.set_viewport_size({"width": 1280, "height": 900})
    save_screenshot(lead, "console-ko-1280")
    assert lead.script_errors == []

    # Closed elsewhere (its timer, another lead's console): the console says so on loading
    # and links to the results.
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        sessions.close_session(None, session)
        db.session.commit()
    lead.reload()
    expect(lead.locator("#rt-close-summary")).to_be_visible()
    expect(lead.locator("#rt-close-results")).to_have_attribute(
        "href", f"/roundtables/{sid}/results"
    )
    lead.click("#rt-close-results")
    lead.set_viewport_size(phone)
    expect(lead.locator("#rt-pass-rule")).to_contain_text("50% 초과")
    narrowest = lead.evaluate(
        """() => Math.min(...[...document.querySelectorAll('thead th')]
            .map(n => n.getBoundingClientRect().width))"""
    )
    assert narrowest > 30, narrowest
    assert lead.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(lead)
    save_screenshot(lead, "results-ko-390")


def test_the_lead_chat_refusal_shows_beside_its_form_in_korean(app, live_server, new_page):
    seed = seed_poll_phase(app, language="ko")
    base, sid = live_server.url, seed["sid"]
    lead = open_as(new_page, base, seed["lead"], f"/roundtables/{sid}/console")
    lead.get_by_role("button", name="2번 테이블 응답").click()
    chat = lead.locator("#rt-lead-chat-text")
    expect(chat).to_be_focused()
    # The input allows exactly what the server takes.
    expect(chat).to_have_attribute("maxlength", str(tables.CHAT_MAX_CHARS))
    # Past the limit (a script, or a browser counting differently): the server's refusal, in
    # the lead's language, beside the chat form.
    chat.evaluate("node => node.removeAttribute('maxlength')")
    chat.fill("가" * (tables.CHAT_MAX_CHARS + 1))
    chat.press("Enter")
    error = lead.locator("#rt-lead-chat-error")
    expect(error).to_have_text(f"'text'이(가) 너무 깁니다 (최대 {tables.CHAT_MAX_CHARS}자).")
    expect(lead.locator("#rt-error")).to_have_text(error.inner_text())
    # The next action that works clears it.
    chat.fill("곧 갑니다")
    chat.press("Enter")
    expect(lead.locator("#rt-lead-chat-log")).to_contain_text("곧 갑니다")
    expect(error).to_be_empty()
    expect(lead.locator("#rt-error")).to_be_empty()
    assert lead.script_errors == []


def test_broadcasts_sent_show_their_time_in_the_page_language_and_profile_zone(
    app, live_server, browser
):
    """The browser speaks American English and sits in Los Angeles; the lead reads Korean and
    chose Berlin on the profile: the console's 'Broadcasts sent' reads Berlin's time, in Korean
    (오전/오후), like the server's times, both as sent live and after a reload."""
    seed = seed_poll_phase(app, language="ko")
    sid = seed["sid"]
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == seed["lead"]))
        lead.timezone = "Europe/Berlin"
        db.session.commit()
    context = browser.new_context(
        timezone_id="America/Los_Angeles", locale="en-US", viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        browser_login(page, live_server.url, seed["lead"], PASSWORD)
        page.goto(f"{live_server.url}/roundtables/{sid}/console")
        expect(page.locator("#rt-connection")).to_have_text(re.compile(".+"))
        before = datetime.now(ZoneInfo("Europe/Berlin"))
        page.fill("#rt-broadcast-text", "Five minutes to the poll")
        page.click("#rt-broadcast-submit")
        sent = page.locator("#rt-broadcasts li")
        expect(sent).to_have_count(1)
        after = datetime.now(ZoneInfo("Europe/Berlin"))

        def korean_berlin(text: str) -> bool:
            return (
                "AM" not in text
                and "PM" not in text
                and any(
                    f"{'오전' if m.hour < 12 else '오후'} {m:%I:%M}" in text
                    for m in (before, after)
                )
            )

        shown = sent.inner_text()
        assert korean_berlin(shown) and shown.endswith("Five minutes to the poll"), shown
        page.reload()
        expect(page.locator("#rt-broadcasts li")).to_have_text(shown)
    finally:
        context.close()
