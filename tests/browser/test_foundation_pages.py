"""Register, log in, switch to Korean, log out, in real Chromium; axe-core on each page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_register_switch_language_logout(live_server, new_page):
    page = new_page()
    page.goto(live_server.url + "/")
    assert_accessible(page)
    save_screenshot(page, "home")

    page.goto(live_server.url + "/register")
    assert_accessible(page)
    page.fill("#display_name", "Browser Citizen")
    page.fill("#email", "browser@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.select_option("#preferred_language", "en")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("text=Welcome to Madang, Browser Citizen.").is_visible()

    page.select_option("#language-select", "ko")
    page.click("text=Change language")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("button", has_text="로그아웃").is_visible()
    assert_accessible(page)

    page.click("button:has-text('로그아웃')")
    page.wait_for_load_state()
    assert page.locator("a", has_text="로그인").first.is_visible()
    assert page.script_errors == []


def test_login_page_errors_are_announced_and_accessible(app, live_server, new_page):
    with app.app_context():
        make_user(email="known@example.org")
    page = new_page()
    page.goto(live_server.url + "/login")
    assert_accessible(page)
    page.fill("#email", "known@example.org")
    page.fill("#password", "wrong password here")
    page.click("form.stack button[type=submit]")
    expect(page.locator("[role=alert]")).to_be_visible()
    assert_accessible(page)
    browser_login(page, live_server.url, "known@example.org", PASSWORD)
    assert page.locator("button", has_text="Log out").is_visible()


def test_home_works_at_phone_width(live_server, new_page):
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(live_server.url + "/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    save_screenshot(page, "home-360")
    assert_accessible(page)
