"""The request → confirm flow of a member category in real Chromium, in Korean and English:
a newcomer asks to take part as an expert on a phone, an administrator confirms, the newcomer
sees it on their profile. Every page is axe-clean."""

import pytest
from sqlalchemy import select

from deliberation.accounts import categories
from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.extensions import db
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_division, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TEXT = {
    "en": {
        "counted": "You take part as a citizen until an administrator confirms your category.",
        "pending": "Waiting for confirmation",
        "confirm": "Confirm",
        "confirmed_flash": "Confirmed: Han Jisoo",
        "confirmed": "Confirmed",
        "expert": "Expert",
        "none": "No request waits for a decision.",
    },
    "ko": {
        "counted": "관리자가 구분을 확인할 때까지 시민으로 참여합니다.",
        "pending": "확인 대기 중",
        "confirm": "확인",
        "confirmed_flash": "확인했습니다: Han Jisoo",
        "confirmed": "확인됨",
        "expert": "전문가",
        "none": "결정을 기다리는 신청이 없습니다.",
    },
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_request_then_confirm_in_each_language(app, live_server, new_page, language):
    text = TEXT[language]
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org", name="Admin Park", language=language)

    newcomer = new_page(PHONE)
    newcomer.goto(live_server.url + "/register")
    newcomer.fill("#display_name", "Han Jisoo")
    newcomer.fill("#email", "jisoo@example.org")
    newcomer.fill("#password", PASSWORD)
    newcomer.fill("#confirm", PASSWORD)
    newcomer.select_option("#preferred_language", language)
    newcomer.select_option("#member_category", "expert")
    assert_accessible(newcomer)
    newcomer.click("form.stack button[type=submit]")
    newcomer.wait_for_url(lambda url: "/register" not in url)
    assert text["counted"] in newcomer.content()
    newcomer.goto(live_server.url + "/profile")
    assert text["pending"] in newcomer.locator("#category-request-state").inner_text()
    assert_accessible(newcomer)
    save_screenshot(newcomer, f"categories-{language}-1-newcomer-pending-390")

    admin = new_page()
    browser_login(admin, live_server.url, "admin@example.org", PASSWORD)
    admin.goto(live_server.url + "/admin/category-requests")
    card = admin.locator("li.item-card", has_text="Han Jisoo")
    assert "jisoo@example.org" in card.inner_text()
    assert_accessible(admin)
    save_screenshot(admin, f"categories-{language}-2-admin-review")
    card.locator("textarea").fill("Listed by the university as a researcher")
    card.get_by_role("button", name=text["confirm"], exact=True).click()
    admin.wait_for_load_state()
    assert text["confirmed_flash"] in admin.content()
    assert text["none"] in admin.content()
    assert_accessible(admin)
    save_screenshot(admin, f"categories-{language}-3-admin-confirmed")

    newcomer.reload()
    state = newcomer.locator("#category-request-state").inner_text()
    assert text["confirmed"] in state and "Listed by the university" in state
    assert text["expert"] in newcomer.locator("#category-heading + p").inner_text()
    assert_accessible(newcomer)
    save_screenshot(newcomer, f"categories-{language}-4-newcomer-confirmed-390")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "jisoo@example.org"))
        assert user.member_category == MemberCategory.EXPERT


ROSTER_BAD = (
    "name,email,category,divisions,term_start,term_end\n"
    "Park Jiwoo,jiwoo@example.org,civil_servant,elderly,2026-01-01,2027-12-31\n"
    "Kim Dohyun,dohyun@example.org,mayor,nowhere,2026-01-01,2027-12-31\n"
)
ROSTER_GOOD = (
    "name,email,category,divisions,term_start,term_end\n"
    "Park Jiwoo,jiwoo@example.org,civil_servant,elderly,2026-01-01,2027-12-31\n"
    "Kim Dohyun,dohyun@example.org,전문가,elderly,2026-01-01,2027-12-31\n"
)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_roster_preview_shows_row_errors_then_imports(
    app, live_server, new_page, tmp_path, language
):
    with app.app_context():
        make_division("elderly")
        make_user(Role.ADMIN, email="admin@example.org", name="Admin Park", language=language)
    admin = new_page(PHONE)
    browser_login(admin, live_server.url, "admin@example.org", PASSWORD)
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(ROSTER_BAD, encoding="utf-8")
    good.write_text(ROSTER_GOOD, encoding="utf-8")

    admin.goto(live_server.url + "/admin/roster")
    admin.set_input_files("#roster", str(bad))
    # The preview is a full page load: axe must not run on the page being replaced.
    with admin.expect_navigation():
        admin.click("form.stack button[type=submit]")
    alert = admin.locator("#roster-preview .error-summary").inner_text()
    assert ("Row 3" if language == "en" else "3번째 줄") in alert
    assert "mayor" in alert and "nowhere" in alert
    assert admin.locator("#roster-preview form").count() == 0  # no import button
    assert_accessible(admin)
    save_screenshot(admin, f"categories-{language}-5-roster-errors-390")

    admin.set_input_files("#roster", str(good))
    with admin.expect_navigation():
        admin.click("form.stack button[type=submit]")
    button = admin.locator("#roster-preview form button")
    assert_accessible(admin)
    save_screenshot(admin, f"categories-{language}-6-roster-preview-390")
    button.click()
    admin.wait_for_url(lambda url: "/admin/users" in url)
    with app.app_context():
        dohyun = db.session.scalar(select(User).where(User.email == "dohyun@example.org"))
        assert dohyun.member_category == MemberCategory.EXPERT
        assert [d.slug for d in dohyun.divisions] == ["elderly"]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_who_takes_part_says_which_categories_are_verified(app, live_server, new_page, language):

    with app.app_context():
        make_user(email="reader@example.org", language=language)
        waiting = make_user(email="waiting@example.org")
        categories.choose_category(waiting, MemberCategory.EXPERT)
        db.session.commit()
    page = new_page(PHONE)
    browser_login(page, live_server.url, "reader@example.org", PASSWORD)
    page.goto(live_server.url + "/participation")
    note = page.locator(".verified-categories").inner_text()
    assert ("1 person with a pending request" if language == "en" else "1명은 시민으로") in note
    assert_accessible(page)
    save_screenshot(page, f"categories-{language}-7-who-takes-part-390")
