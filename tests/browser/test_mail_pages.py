"""The demo without a mail server, in real Chromium at phone width: a forgotten password's mail
appears on the admin Outbox page, whose link resets the password; mail settings and the
unsubscribe page; axe-core on each page."""

import pytest
from playwright.sync_api import expect

from deliberation.accounts.models import Role
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.mail import services as mail
from deliberation.mail.models import MailKind
from deliberation.roundtables import sessions
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.evaluations.helpers import make_session, seat
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_the_demo_reset_mail_is_on_the_outbox_page_and_its_link_works(app, live_server, new_page):
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org")
        make_user(email="forgetful@example.org")
    visitor = new_page(viewport=PHONE)
    visitor.goto(live_server.url + "/login")
    visitor.click("text=Forgot your password?")
    assert_accessible(visitor)
    visitor.fill("#email", "forgetful@example.org")
    visitor.click("form.stack button[type=submit]")
    visitor.wait_for_url(lambda url: url.endswith("/login"))
    assert visitor.locator("text=a reset link is on its way").is_visible()

    admin = new_page(viewport=PHONE)
    browser_login(admin, live_server.url, "admin@example.org", PASSWORD)
    admin.goto(live_server.url + "/admin/outbox?status=logged")
    # The scheduler logs the message within a few seconds (no MAIL_SERVER in the demo).
    for _attempt in range(30):
        if admin.locator("text=forgetful@example.org").count():
            break
        admin.wait_for_timeout(500)
        admin.reload()
    assert admin.locator("text=No mail server is configured").is_visible()
    assert_accessible(admin)
    _fits(admin)
    save_screenshot(admin, "outbox-390")
    admin.click("text=Reset your Madang password")
    assert_accessible(admin)
    _fits(admin)
    body = admin.locator("pre.mail-body").inner_text()
    link = next(word for word in body.split() if "/password/reset/" in word)

    visitor.goto(link)
    visitor.fill("#password", "a sentence from the outbox")
    visitor.fill("#confirm", "a sentence from the outbox")
    visitor.click("form.stack button[type=submit]")
    visitor.wait_for_url(lambda url: url.endswith("/login"))
    browser_login(visitor, live_server.url, "forgetful@example.org", "a sentence from the outbox")
    assert visitor.script_errors == [] and admin.script_errors == []


def test_mail_settings_and_unsubscribe_pages_are_accessible(app, live_server, new_page):
    with app.app_context():
        user = make_user(email="reader@example.org", language="ko")
        token = mail.unsubscribe_token(user.id, MailKind.SESSION_REMINDER)
    page = new_page(viewport=PHONE)
    browser_login(page, live_server.url, "reader@example.org", PASSWORD)
    page.goto(live_server.url + "/mail/preferences")
    assert_accessible(page)
    _fits(page)
    page.check("input[value=daily]")
    page.click("form.stack button[type=submit]")
    assert page.locator("input[value=daily]").is_checked()

    page.goto(live_server.url + f"/mail/unsubscribe/{token}")
    assert_accessible(page)
    page.click("main button[type=submit]")
    expect(page.locator("[role=status]")).to_be_visible()
    assert_accessible(page)
    _fits(page)


def test_after_the_close_the_survey_waits_in_each_participants_notifications(
    app, live_server, new_page
):
    """Korean and English participants at phone width: the notification links to the survey;
    an unconfirmed address is told it gets no notification mail until confirmed."""
    with app.app_context():
        lead = make_user(Role.FACILITATOR)
        session = make_session(lead, closed=False)
        seat(session, email="ko@example.org", language="ko", confirmed=False)
        seat(session, email="en@example.org")
        survey = evaluations.create_survey(
            lead, session, title="Care roundtable survey", question_keys=["overall"]
        )
        db.session.commit()
        sessions.close_session(lead, session)
        db.session.commit()
        survey_id = survey.id
    for email, language, link_text in (
        ("ko@example.org", "ko", "설문 응답하기: Care roundtable survey"),
        ("en@example.org", "en", "Answer the survey: Care roundtable survey"),
    ):
        page = new_page(viewport=PHONE)
        browser_login(page, live_server.url, email, PASSWORD)
        page.goto(live_server.url + "/proposals/notifications")
        link = page.get_by_role("link", name=link_text)
        assert link.get_attribute("href") == f"/evaluations/{survey_id}"
        assert_accessible(page)
        _fits(page)
        save_screenshot(page, f"survey-notification-{language}")
        if language == "ko":
            page.goto(live_server.url + "/mail/preferences")
            assert "비밀번호 재설정과 확인 링크 말고는 메일을 보내지 않습니다" in page.inner_text(
                "main"
            )
            save_screenshot(page, "mail-preferences-unconfirmed-ko")
        link_page = page.goto(live_server.url + f"/evaluations/{survey_id}")
        assert link_page.ok
