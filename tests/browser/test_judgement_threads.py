"""In real Chromium, on a phone: a citizen replies to a judgement's comment (and to the reply),
another (in Korean) flags the reply with a reason, a facilitator hides it from the moderation
queue with a public reason, and everyone then sees the reason in place of the text."""

import pytest

from deliberation.accounts.models import Role
from deliberation.extensions import db
from deliberation.proposals import judgements
from deliberation.proposals.models import JudgementStep, Satisfaction
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.proposals.feedback_helpers import answered_proposal

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
REPLY_TEXT = "Shade matters more than the number of benches."


def _seed(app) -> tuple[int, int]:
    with app.app_context():
        proposal = answered_proposal(title="More benches by the river")
        commenter = make_user(email="commenter@example.org", name="Kim Commenter")
        judgement = judgements.judge(
            commenter,
            proposal,
            JudgementStep.ANSWER,
            Satisfaction.PARTLY,
            "Twenty benches are not enough for the whole river.",
        )
        make_user(email="replier@example.org", name="Lee Replier")
        make_user(email="flagger@example.org", name="Park Flagger", language="ko")
        make_user(Role.FACILITATOR, email="mod@example.org", name="Choi Facilitator")
        db.session.commit()
        return proposal.id, judgement.id


def test_a_reply_is_flagged_and_a_facilitator_hides_it_with_a_reason(app, live_server, new_page):
    base = live_server.url
    proposal_id, judgement_id = _seed(app)

    replier = new_page(PHONE)
    browser_login(replier, base, "replier@example.org", PASSWORD)
    replier.goto(f"{base}/proposals/{proposal_id}")
    replier.click("text=Reply or flag")
    replier.wait_for_url(f"**/proposals/judgements/{judgement_id}*")
    replier.fill("#body", REPLY_TEXT)
    replier.click("#reply-form button[type=submit]")
    first = replier.locator("li.reply").first
    first.wait_for()
    assert REPLY_TEXT in first.inner_text()
    reply_id = first.get_attribute("data-reply-id")
    # A nested answer to the reply, through its own "Reply" disclosure.
    replier.click(f"#reply-{reply_id} > article details summary:text-is('Reply')")
    replier.fill(f"#reply-to-{reply_id}", "And trees, please.")
    replier.click(f"#reply-{reply_id} > article details[open] button[type=submit]")
    replier.locator(f"#reply-{reply_id} ul.replies li.reply").wait_for()
    assert "2 replies" in replier.inner_text("#replies-heading")
    assert replier.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(replier)
    save_screenshot(replier, "judgement-thread-replier-en-390")

    flagger = new_page(PHONE)
    browser_login(flagger, base, "flagger@example.org", PASSWORD)
    flagger.goto(f"{base}/proposals/judgements/{judgement_id}")
    assert flagger.inner_text("h1").startswith("“More benches")  # the Korean title
    flagger.click(f"#reply-{reply_id} > article details summary:text-is('신고')")
    flagger.fill(f"#flag-reply-{reply_id}", "광고성 글입니다")
    flagger.click(f"#reply-{reply_id} > article details[open] button[type=submit]")
    flagger.wait_for_selector("text=고맙습니다. 진행자가 살펴보겠습니다.")
    assert "이 답글을 신고했습니다." in flagger.inner_text(f"#reply-{reply_id} > article")
    assert_accessible(flagger)
    save_screenshot(flagger, "judgement-thread-flagger-ko-390")

    moderator = new_page(PHONE)
    browser_login(moderator, base, "mod@example.org", PASSWORD)
    moderator.goto(f"{base}/proposals/moderation")
    entry = moderator.locator(f"#flagged-reply-{reply_id}")
    assert "광고성 글입니다" in entry.inner_text() and REPLY_TEXT in entry.inner_text()
    assert_accessible(moderator)
    save_screenshot(moderator, "judgement-moderation-facilitator-en-390")
    entry.locator("summary:text-is('Hide')").click()
    moderator.fill(f"#hide-reply-{reply_id}", "Off topic advertising")
    entry.locator("button:text-is('Hide it')").click()
    moderator.wait_for_selector("text=Nothing to review.")
    moderator.goto(f"{base}/proposals/{proposal_id}#judgements")
    assert "2 replies" in moderator.inner_text(f"#judgement-{judgement_id}")
    assert_accessible(moderator)
    save_screenshot(moderator, "judgement-comments-facilitator-en-390")

    replier.reload()
    hidden = replier.locator(f"#reply-{reply_id} > article").inner_text()
    assert "Hidden by a moderator: Off topic advertising" in hidden
    assert REPLY_TEXT not in replier.content()
    assert "And trees, please." in replier.content()  # the answer below stays
    flagger.reload()
    assert REPLY_TEXT not in flagger.content()
    assert_accessible(flagger)
    save_screenshot(flagger, "judgement-thread-hidden-ko-390")
    moderator.goto(f"{base}/proposals/judgements/{judgement_id}")
    moderator.click(f"#hidden-reply-{reply_id} summary")
    assert REPLY_TEXT in moderator.inner_text(f"#hidden-reply-{reply_id}")
    assert_accessible(moderator)
    save_screenshot(moderator, "judgement-thread-facilitator-en-390")
    for page in (replier, flagger, moderator):
        assert page.script_errors == []
