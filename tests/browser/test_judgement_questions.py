"""In real Chromium, Korean, at phone width: the two judgement forms of an implemented proposal
are told apart by their accessible names and their questions, as a screen reader hears them."""

import pytest

from deliberation.extensions import db
from tests.browser.conftest import assert_accessible, browser_login
from tests.factories import PASSWORD, make_user
from tests.proposals.feedback_helpers import answered_proposal, implement

pytestmark = pytest.mark.browser


def test_a_korean_phone_reader_hears_which_form_judges_the_implementation(
    app, live_server, new_page
):
    with app.app_context():
        proposal_id = implement(answered_proposal()).id
        make_user(email="judge@example.org", language="ko")
        db.session.commit()
    phone = new_page(viewport={"width": 390, "height": 844})
    browser_login(phone, live_server.url, "judge@example.org", PASSWORD)
    phone.goto(f"{live_server.url}/proposals/{proposal_id}")
    answer = phone.get_by_role("form", name="공무원의 답변 평가")
    implementation = phone.get_by_role("form", name="이행 평가")
    assert answer.get_by_role("group", name="답변이 제안에 제대로 답하고 있습니까?").is_visible()
    question = implementation.get_by_role("group", name="이행 내용이 제안을 실현합니까?")
    assert question.is_visible()
    assert question.get_by_role("radio").count() == 3
    assert (
        phone.get_by_role("group", name="제안에 제대로 답하고 있습니까?", exact=True).count() == 0
    )
    assert_accessible(phone)
