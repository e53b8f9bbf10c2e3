"""Agenda discussions in real Chromium: live replies between two people, accessibility,
XSS payloads that stay inert, posting with JavaScript off, load more in place."""

import time

import pytest
from playwright.sync_api import expect

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem
from deliberation.extensions import db
from tests.agendas.helpers import make_item, post
from tests.browser.conftest import CHROMIUM_ARGS, assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_division, make_user

pytestmark = pytest.mark.browser

XSS_PAYLOADS = [
    "<script>window.__xss = 1; alert(1)</script>",
    '<img src=x onerror="window.__xss = 2; alert(2)">',
    "[click me](javascript:window.__xss=3)",
    '<a href="javascript:window.__xss=4">link</a>',
    '<svg onload="window.__xss = 5"></svg>',
    '<iframe src="javascript:window.__xss = 6"></iframe>',
    '"><script>window.__xss = 7</script>',
    '<details open ontoggle="window.__xss = 8">x</details>',
    '<a href="data:text/html,<script>alert(9)</script>">data</a>',
    '<style>body{display:none}</style><b onmouseover="window.__xss=10">hover</b>',
    "{{ 7*7 }} ${7*7} <math><mtext><table><mglyph><style><img src=x onerror=alert(11)>",
]

#: The page's status line says it is live, in whichever language the page is in.
IS_LIVE = (
    "() => document.getElementById('live-status').textContent"
    " === document.getElementById('discussion').dataset.strLive"
)


def open_live(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(IS_LIVE)


def reading_together(live_server, item_id: int, readers: dict) -> None:
    """Each page logs in as its email and opens the item, live."""
    for page, email in readers.items():
        browser_login(page, live_server.url, email, PASSWORD)
    for page in readers:
        open_live(page, f"{live_server.url}/agendas/{item_id}")


def set_profile(app, email: str, **fields) -> None:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        for name, value in fields.items():
            setattr(user, name, value)
        db.session.commit()


def _seed(app, *, title="Evening hours at senior centres", body="Open until 9 pm.", comments=()):
    with app.app_context():
        division = make_division("elderly")
        alice = make_user(email="alice@example.org", name="Alice Kim")
        make_user(email="bob@example.org", name="Bob Lee")
        item = make_item(alice, division, title=title, body=body)
        app.config["AGENDAS_COMMENT_LIMIT"] = "1000/minute"  # seeding only; the server keeps 10
        for text in comments:
            post(alice, item, text)
        return item.id


def test_reply_by_one_appears_for_the_other_within_a_second(app, live_server, new_page):
    item_id = _seed(app, comments=["Should centres open until 9 pm?"])
    with app.app_context():
        root_id = db.session.get(AgendaItem, item_id).id  # the item exists
    alice, bob = new_page(), new_page()
    reading_together(live_server, root_id, {alice: "alice@example.org", bob: "bob@example.org"})
    bob.click(".comment .action-reply")
    bob.fill(".reply-form textarea", "Yes — three evenings a week would already help.")
    started = time.monotonic()
    bob.click(".reply-form button[type=submit]")
    alice.wait_for_selector("li.comment.level-1 >> text=three evenings a week", timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    level_note = alice.locator("li.comment.level-1 .comment-meta .visually-hidden")
    assert "level 2" in level_note.inner_text()  # announced like a server-rendered reply
    assert alice.locator("li.comment.level-1 .comment-author").inner_text() == "Bob Lee"
    # Bob's own page shows it once (ack and broadcast are deduplicated).
    assert bob.locator("li.comment >> text=three evenings a week").count() == 1

    # A reaction by Alice updates Bob's count live; a new top-level comment arrives on top.
    alice.click("li.comment.level-1 button.reaction-agree")
    bob.wait_for_selector("li.comment.level-1 button.reaction-agree .count >> text=1", timeout=1000)
    alice.fill("#new-comment textarea", "A new topic: **lunch** too?")
    alice.click("#new-comment button[type=submit]")
    bob.wait_for_selector("#thread > li.comment:first-child strong >> text=lunch", timeout=1000)
    save_screenshot(bob, "agendas-live-reply")
    assert alice.script_errors == [] and bob.script_errors == []
    assert_accessible(bob)


def test_item_page_is_accessible_and_fits_a_phone(app, live_server, new_page):
    item_id = _seed(
        app, comments=["첫 번째 의견입니다.", "Second opinion with a [link](https://example.org)."]
    )
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(f"{live_server.url}/agendas/{item_id}")
    assert_accessible(page)
    browser_login(page, live_server.url, "bob@example.org", PASSWORD)
    open_live(page, f"{live_server.url}/agendas/{item_id}")
    assert_accessible(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.goto(f"{live_server.url}/agendas/")
    assert_accessible(page)
    save_screenshot(page, "agendas-item-360")


def test_xss_payloads_stay_inert_on_load_and_live(app, live_server, new_page):
    item_id = _seed(
        app,
        title=XSS_PAYLOADS[0] + XSS_PAYLOADS[1],
        body="\n\n".join(XSS_PAYLOADS),
        comments=XSS_PAYLOADS,
    )
    alice, bob = new_page(), new_page()
    dialogs: list[str] = []
    for page in (alice, bob):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    reading_together(live_server, item_id, {alice: "alice@example.org", bob: "bob@example.org"})
    for payload in XSS_PAYLOADS[:6]:  # the same payloads arriving live
        alice.fill("#new-comment textarea", payload)
        alice.click("#new-comment button[type=submit]")
        alice.wait_for_function(
            "() => document.querySelector('#new-comment textarea').value === ''"
        )
    bob.wait_for_function(
        f"() => document.querySelectorAll('#thread > li.comment').length >= {len(XSS_PAYLOADS) + 6}"
    )
    for page in (alice, bob):
        for link in page.locator(".comment-body a, .item-body a").all():
            href = link.get_attribute("href") or ""
            assert not href.lower().startswith(("javascript:", "data:")), href
        page.locator(".comment-body a").first.click(timeout=2000, no_wait_after=True)
        page.hover(".comment-body b >> nth=0") if page.locator(".comment-body b").count() else None
        time.sleep(0.3)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert (
            page.locator(
                ".comment-body script, .comment-body img, .comment-body iframe, "
                ".comment-body svg, .item-body script"
            ).count()
            == 0
        )
    assert dialogs == []
    assert "<script>" in bob.title()  # the title is shown as text, not run


def test_posting_works_with_javascript_off(app, live_server, browser):
    item_id = _seed(app, comments=["Root comment"])
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        browser_login(page, live_server.url, "bob@example.org", PASSWORD)
        page.goto(f"{live_server.url}/agendas/{item_id}")
        page.click(".comment .action-reply")  # a plain link to the reply page
        page.fill("#body", "Replying without JavaScript.")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("li.comment >> text=Replying without JavaScript.").is_visible()
        page.goto(f"{live_server.url}/agendas/{item_id}")
        page.fill("#body", "A top-level comment, no script.")
        page.click("#new-comment button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("li.comment >> text=A top-level comment, no script.").is_visible()
        page.click("li.comment button.reaction-agree >> nth=0")
        page.wait_for_load_state()
        assert page.locator("li.comment button.reaction-agree[aria-pressed=true]").count() == 1
    finally:
        context.close()


def test_load_more_replies_in_place(app, live_server, new_page):
    with app.app_context():
        division = make_division("elderly")
        alice = make_user(email="alice@example.org")
        item = make_item(alice, division)
        app.config["AGENDAS_COMMENT_LIMIT"] = "1000/minute"
        root = post(alice, item, "root")
        for n in range(14):
            post(alice, item, f"reply number {n}", parent=root)
        item_id = item.id
    page = new_page()
    page.goto(f"{live_server.url}/agendas/{item_id}")
    assert page.locator("li.comment").count() == 11 + 0
    page.click("text=Show more replies")
    page.wait_for_selector("text=reply number 13")
    assert page.locator("#thread li.comment").count() == 15
    assert page.locator("#thread li.comment.level-1").count() == 14
    assert page.script_errors == []


def test_chromium_args_are_shared():
    assert "--no-sandbox" in CHROMIUM_ARGS


def test_moderation_pages_are_accessible_and_a_hide_shows_live(app, live_server, new_page):
    item_id = _seed(app, comments=["Rude remark about a neighbour"])
    with app.app_context():
        from deliberation.accounts.models import Role

        make_user(Role.FACILITATOR, email="fac@example.org", name="Fa Cilitator")
    viewer, facilitator = new_page(), new_page()
    reading_together(live_server, item_id, {viewer: "bob@example.org"})
    with viewer.expect_navigation():
        viewer.click(".comment .action-flag")
    assert_accessible(viewer)
    viewer.fill("#reason", "Personal attack")
    viewer.click("form.stack button[type=submit]")
    viewer.wait_for_selector("text=The facilitators will look at this comment")
    viewer.wait_for_function(IS_LIVE)
    browser_login(facilitator, live_server.url, "fac@example.org", PASSWORD)
    facilitator.goto(f"{live_server.url}/agendas/moderation")
    assert facilitator.locator("text=Personal attack").is_visible()
    assert_accessible(facilitator)
    with facilitator.expect_navigation():
        facilitator.click("a.button:has-text('Hide')")
    assert_accessible(facilitator)
    facilitator.fill("#reason", "Breaks rule 2")
    facilitator.click("form.stack button[type=submit]")
    viewer.wait_for_selector("text=Hidden by a moderator: Breaks rule 2", timeout=1000)
    assert viewer.locator("text=Rude remark").count() == 0
    for path in ("/agendas/new", "/agendas/comments/1/reply", f"/agendas/{item_id}/comments/1"):
        viewer.goto(live_server.url + path)
        assert_accessible(viewer)
    assert viewer.script_errors == [] and facilitator.script_errors == []


def test_load_more_comments_in_place(app, live_server, new_page):
    item_id = _seed(app, comments=[f"topic number {n}" for n in range(25)])
    page = new_page()
    page.goto(f"{live_server.url}/agendas/{item_id}")
    assert page.locator("#thread li.comment").count() == 20
    page.click("text=Load more comments")
    page.wait_for_selector("text=topic number 0")
    assert page.locator("#thread li.comment").count() == 25
    assert page.locator("text=Load more comments").count() == 0
    assert page.script_errors == []


def test_a_reconnecting_page_catches_up(app, live_server, new_page):
    item_id = _seed(app, comments=["Before the outage"])
    away, writer = new_page(), new_page()
    reading_together(live_server, item_id, {away: "alice@example.org", writer: "bob@example.org"})
    away.context.set_offline(True)
    away.wait_for_function(
        "() => document.getElementById('live-status').textContent.startsWith('Reconnecting')",
        timeout=30_000,
    )
    writer.fill("#new-comment textarea", "Posted while Alice was offline")
    writer.click("#new-comment button[type=submit]")
    writer.wait_for_selector("li.comment >> text=Posted while Alice was offline")
    assert away.locator("text=Posted while Alice was offline").count() == 0
    away.context.set_offline(False)
    away.wait_for_selector("li.comment >> text=Posted while Alice was offline", timeout=30_000)
    assert away.locator("li.comment >> text=Posted while Alice was offline").count() == 1


def spaced(text: str) -> str:
    """Babel (the server) writes a narrow no-break space before AM/PM, Chromium a space."""
    return text.replace("\u202f", " ")


def test_a_live_comment_shows_its_time_in_the_profile_zone(app, live_server, browser):
    """The browser sits in Los Angeles, the profile says Berlin: a comment that arrives live
    reads the same time as the server writes for it after a reload (Berlin's)."""
    item_id = _seed(app, comments=["Should centres open until 9 pm?"])
    set_profile(app, "alice@example.org", timezone="Europe/Berlin")
    contexts = [browser.new_context(timezone_id="America/Los_Angeles") for _ in range(2)]
    try:
        alice, bob = (context.new_page() for context in contexts)
        readers = {alice: "alice@example.org", bob: "bob@example.org"}
        reading_together(live_server, item_id, readers)
        bob.click(".comment .action-reply")
        bob.fill(".reply-form textarea", "Late evenings, please.")
        bob.click(".reply-form button[type=submit]")
        live = alice.locator("li.comment.level-1", has_text="Late evenings").locator("time")
        live.wait_for()
        shown_live = spaced(live.inner_text())
        alice.reload()
        rendered = alice.locator("li.comment.level-1", has_text="Late evenings").locator("time")
        assert spaced(rendered.inner_text()) == shown_live
    finally:
        for context in contexts:
            context.close()


def test_the_heading_counts_comments_that_arrive_live_in_each_language(app, live_server, new_page):
    """Alice reads in English, Bob in Korean: each new comment, by either, moves both headings
    on by one, in the plural the number needs, and the sender's own page counts it once."""
    item_id = _seed(app)
    set_profile(app, "bob@example.org", preferred_language="ko")
    alice, bob = new_page(), new_page()
    reading_together(live_server, item_id, {alice: "alice@example.org", bob: "bob@example.org"})
    english, korean = alice.locator("#discussion-heading"), bob.locator("#discussion-heading")
    expect(english).to_have_text("Discussion (0 comments)")
    expect(korean).to_have_text("토론 (의견 0개)")

    alice.fill("#new-comment textarea", "Should centres open until 9 pm?")
    alice.click("#new-comment button[type=submit]")
    expect(english).to_have_text("Discussion (1 comment)")
    expect(korean).to_have_text("토론 (의견 1개)")

    bob.click(".comment .action-reply")
    bob.fill(".reply-form textarea", "Three evenings a week would help.")
    bob.click(".reply-form button[type=submit]")
    expect(english).to_have_text("Discussion (2 comments)")
    expect(korean).to_have_text("토론 (의견 2개)")
    alice.fill("#new-comment textarea", "And at weekends?")
    alice.click("#new-comment button[type=submit]")
    expect(korean).to_have_text("토론 (의견 3개)")
    expect(english).to_have_text("Discussion (3 comments)")
    alice.reload()
    expect(english).to_have_text("Discussion (3 comments)")  # what the server counts too
    assert alice.script_errors == [] and bob.script_errors == []
