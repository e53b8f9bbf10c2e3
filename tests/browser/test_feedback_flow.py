"""In real Chromium: an official answers, three citizens judge the answer, and the proposal
page and the queue show the judgement by member category; a survey is attached to a
session, answered by participants at the close, and its results page applies the
small-group rule. Every page passes axe; the results fit a phone."""

import pytest

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.proposals import judgements
from deliberation.proposals import services as proposals
from deliberation.proposals.models import JudgementStep, Proposal, Satisfaction
from deliberation.roundtables.models import RoundtableSession
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.evaluations.helpers import make_session, overall_survey, seat
from tests.factories import PASSWORD, make_division, make_user
from tests.proposals.feedback_helpers import answered_proposal

pytestmark = pytest.mark.browser

JUDGES = [
    ("judge1@example.org", "satisfied"),
    ("judge2@example.org", "satisfied"),
    ("judge3@example.org", "partly"),
]


def _seed_proposal(app) -> int:
    with app.app_context():
        division = make_division("elderly")
        official = make_user(Role.OFFICIAL, email="official@example.org", name="Official Park")
        for email, _value in JUDGES:
            make_user(email=email, divisions=[division])
        proposal = proposals.create_proposal(
            title="Evening hours at senior centres",
            summary="Open until 9 pm.",
            snapshot={},
            division_id=division.id,
        )
        proposals.start_review(official, proposal)
        db.session.commit()
        return proposal.id


def _seed_other_judges(app, proposal_id: int) -> None:
    """Two more citizens and five welfare organisations judge the answer (through the
    service), so that the citizens' category reaches the small-group minimum."""
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        for _ in range(2):
            judgements.judge(make_user(), proposal, JudgementStep.ANSWER, Satisfaction.SATISFIED)
        for _ in range(5):
            welfare = make_user(category=MemberCategory.WELFARE_ORGANISATION)
            judgements.judge(welfare, proposal, JudgementStep.ANSWER, Satisfaction.NOT_SATISFIED)
        db.session.commit()


def _cells(page, row_selector: str) -> list[str]:
    return [c.strip() for c in page.locator(f"{row_selector} td").all_inner_texts()]


def test_citizens_judge_the_answer_and_participants_evaluate_the_session(
    app, live_server, new_page
):
    base = live_server.url
    proposal_id = _seed_proposal(app)

    official = new_page()
    browser_login(official, base, "official@example.org", PASSWORD)
    official.goto(f"{base}/proposals/{proposal_id}")
    official.select_option("#response-decision", "accepted")
    official.fill("#response-text", "Accepted: centres open until 9 pm from March.")
    official.click("text=Publish the response")
    official.wait_for_selector("#official-response")
    _seed_other_judges(app, proposal_id)

    for email, value in JUDGES:
        citizen = new_page()
        browser_login(citizen, base, email, PASSWORD)
        citizen.goto(f"{base}/proposals/{proposal_id}")
        citizen.check(f"input[name='judge-answer-value'][value='{value}']")
        citizen.fill("#judge-answer-comment", f"Comment from {email}")
        citizen.click("#judge-answer button[type=submit]")
        citizen.wait_for_selector(".own-judgement")
        assert "Your judgement" in citizen.locator(".own-judgement").inner_text()
    assert_accessible(citizen)

    page = new_page()
    page.goto(f"{base}/proposals/{proposal_id}")
    table = "#judge-answer table"
    assert _cells(page, f"{table} tr.overall") == ["4", "1", "5"]
    assert _cells(page, f"{table} tr[data-category=citizen]") == ["4", "1", "0"]
    assert _cells(page, f"{table} tr[data-category=welfare_organisation]") == ["0", "0", "5"]
    assert page.locator("text=Comment from judge3@example.org").is_visible()
    assert_accessible(page)
    save_screenshot(page, "proposal-judgements")

    page.goto(f"{base}/proposals/")
    cell = page.locator("td.satisfaction").first
    assert "Satisfied 4" in cell.inner_text() and "Not satisfied 5" in cell.inner_text()
    page.select_option("#satisfaction", "mostly_not")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("text=No proposals match.").is_visible()
    page.select_option("#satisfaction", "")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert_accessible(page)

    phone = new_page(viewport={"width": 390, "height": 844})
    for path in (f"/proposals/{proposal_id}", "/proposals/", "/proposals/accountability/elderly"):
        phone.goto(base + path)
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    phone.wait_for_selector("#satisfaction-chart[data-ready='3']")
    assert phone.locator("[data-figure=answered_on_time]").inner_text() == "1"
    assert phone.script_errors == []
    assert_accessible(phone)
    save_screenshot(phone, "accountability-phone")

    # --- C: a survey attached to a session, answered by its participants at the close ---
    with app.app_context():
        lead = make_user(Role.FACILITATOR, email="lead@example.org", name="Lead Han")
        session = make_session(lead, closed=False)
        session_id = session.id
        answering = [
            seat(session, MemberCategory.CITIZEN, email="p1@example.org"),
            seat(session, MemberCategory.EXPERT, email="p2@example.org"),
            seat(session, MemberCategory.EXPERT, email="p3@example.org"),
        ]
        others = [seat(session, MemberCategory.CITIZEN) for _ in range(4)]
        others += [seat(session, MemberCategory.WELFARE_ORGANISATION) for _ in range(3)]
        answering_emails = [p.email for p in answering]
        other_ids = [p.id for p in others]

    lead_page = new_page()
    browser_login(lead_page, base, "lead@example.org", PASSWORD)
    lead_page.goto(f"{base}/roundtables/{session_id}")
    lead_page.click("text=Attach an evaluation survey")
    lead_page.fill("#title", "How did the roundtable go?")
    lead_page.uncheck("input[name=questions][value=agenda_awareness]")
    assert_accessible(lead_page)
    lead_page.click("text=Attach the survey")
    lead_page.wait_for_url(lambda url: "/evaluations/" in url and "/new" not in url)
    survey_id = int(lead_page.url.rstrip("/").rsplit("/", 1)[-1])

    with app.app_context():  # the lead closes the session
        db.session.get(RoundtableSession, session_id).close()
        db.session.commit()
        survey = evaluations.get_survey(survey_id)
        for n, user_id in enumerate(other_ids):
            evaluations.answer_survey(
                db.session.get(User, user_id), survey, {"overall": 3 + n % 3, "equal_voice": 4}
            )
        db.session.commit()

    for n, email in enumerate(answering_emails):
        participant = new_page()
        browser_login(participant, base, email, PASSWORD)
        participant.goto(f"{base}/roundtables/{session_id}")
        participant.click("text=Answer the survey")
        participant.check(f"input[name=q_overall][value='{n + 1}']")
        participant.check("input[name=q_equal_voice][value='5']")
        participant.fill("#free_text", f"Written answer {n}")
        if n == 0:
            assert_accessible(participant)
        participant.click("text=Send my answers")
        participant.wait_for_url(lambda url: url.endswith("/results"))

    results = new_page(viewport={"width": 390, "height": 844})
    results.goto(f"{base}/evaluations/{survey_id}/results")
    results.wait_for_selector("#survey-chart[data-ready='5']")
    assert "10 people answered." in results.locator("#respondents").inner_text()
    overall = "#q-overall table[data-kind=category]"
    # citizens (5) shown; experts (2: rated 2 and 3) and welfare organisations (3: rated 4, 5
    # and 3) added up as "other"
    assert results.locator(f"{overall} tbody th").all_inner_texts() == [
        "Citizen",
        "Other groups",
    ]
    assert _cells(results, f"{overall} tr[data-group=other]")[:5] == ["0", "1", "2", "1", "1"]
    assert results.locator("#q-overall .small-groups").is_visible()
    assert results.locator(".free-text-answers li").count() == 3
    assert results.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert results.script_errors == []
    assert_accessible(results)
    save_screenshot(results, "survey-results-phone")


# Each radio of a fieldset.choices against its label: [name, value, radio box, label box].
RADIO_BOXES = """() => Array.from(document.querySelectorAll('fieldset.choices input[type=radio]'))
  .map(r => {
    const label = document.querySelector(`label[for="${r.id}"]`);
    const box = e => { const b = e.getBoundingClientRect(); return [b.top, b.bottom]; };
    return [r.name, r.value, box(r), label ? box(label) : null];
  })"""


def test_survey_and_judgement_radios_share_a_line_with_their_labels_on_a_phone(
    app, live_server, new_page
):
    """Like the ballot's: radio and label side by side, the question still the legend."""
    with app.app_context():
        proposal_id = answered_proposal().id
        session = make_session()
        survey_id = overall_survey(session)
        seat(session, email="p@example.org")
    phone = new_page(viewport={"width": 390, "height": 844})
    browser_login(phone, live_server.url, "p@example.org", PASSWORD)
    for path, legend in (
        (f"/evaluations/{survey_id}", "#survey-form fieldset.choices legend"),
        (f"/proposals/{proposal_id}", "#judge-answer fieldset.choices legend"),
    ):
        phone.goto(live_server.url + path)
        assert phone.locator(legend).first.is_visible()
        boxes = phone.evaluate(RADIO_BOXES)
        assert len(boxes) >= 3, path
        for name, value, radio, label in boxes:
            assert label is not None, (path, name, value)
            # vertically overlapping: the radio's box and its label's text are on one line
            assert radio[0] < label[1] and label[0] < radio[1], (path, name, value, radio, label)
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(phone)
