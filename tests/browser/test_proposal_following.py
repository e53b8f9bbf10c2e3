"""Following a proposal in Chromium: on a 390 px phone, with the keyboard alone, in English
and Korean (the rules are tested in tests/proposals/test_following.py)."""

import pytest
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.proposals import queries
from deliberation.proposals.models import Proposal
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.proposals.test_following import discussed_proposal

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("language", "follow", "stop", "following"),
    [
        ("en", "Follow this proposal", "Stop following", "You are following this proposal."),
        ("ko", "이 제안 지켜보기", "그만 지켜보기", "이 제안을 지켜보고 있습니다."),
    ],
    ids=["en", "ko"],
)
def test_the_button_works_by_keyboard_on_a_phone(
    app,
    live_server,
    new_page,
    language,
    follow,
    stop,
    following,
):
    """On a 390 px phone, with the keyboard alone: Tab to the button, Enter; the page comes
    back saying, in words, that the reader follows, and offers to stop; nothing overflows."""
    with app.app_context():
        make_user(email="reader@example.org", language=language)
        proposal_id = discussed_proposal(make_user()).id
    page = new_page(viewport={"width": 390, "height": 844})
    browser_login(page, live_server.url, "reader@example.org", PASSWORD)
    page.goto(f"{live_server.url}/proposals/{proposal_id}")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(page)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == follow:
            break
    else:
        pytest.fail(f"the {follow!r} button cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/proposals/{proposal_id}#following")
    button = page.get_by_role("button", name=stop)
    assert button.is_visible()
    assert following in page.locator("#following-state").inner_text()
    assert button.get_attribute("aria-describedby") == "following-state"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(page)
    save_screenshot(page, f"proposal-following-{language}-390")
    assert page.script_errors == []
    with app.app_context():
        assert queries.is_following(
            db.session.scalar(select(User).filter_by(email="reader@example.org")),
            db.session.get(Proposal, proposal_id),
        )
