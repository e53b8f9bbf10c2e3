"""Judging on the proposal page, the queue's satisfaction column, the accountability pages."""

import json
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.extensions import db
from deliberation.proposals import judgements
from deliberation.proposals.models import Judgement, JudgementStep, Satisfaction
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.proposals.feedback_helpers import answered_proposal, implement


def _judge(client, proposal_id, step, value, comment=""):
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    return client.post(
        f"/proposals/{proposal_id}/judge/{step}",
        data={
            "csrf_token": csrf_token_from(page),
            f"judge-{step}-value": value,
            f"judge-{step}-comment": comment,
        },
    )


def test_a_citizen_judges_the_answer_on_the_page_and_changes_it(app, client, auth):
    with app.app_context():
        proposal_id = answered_proposal().id
        citizen_id = make_user(email="judge@example.org").id
    anonymous = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Log in to judge it." in anonymous
    auth.login("judge@example.org")
    response = _judge(client, proposal_id, "answer", "not_satisfied", "Only <b>ten</b> benches?")
    assert response.status_code == 302
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Your judgement: Not satisfied" in page
    assert "Only &lt;b&gt;ten&lt;/b&gt; benches?" in page  # shown as typed
    assert _judge(client, proposal_id, "answer", "satisfied").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Judgement)).all()
        assert [(j.user_id, j.value) for j in rows] == [(citizen_id, Satisfaction.SATISFIED)]


class _JudgementForms(HTMLParser):
    """Each judgement form on a page, by the step it judges: its accessible name and legend."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, str]] = {}
        self._step: str | None = None
        self._in_legend = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form" and "/judge/" in (attrs.get("action") or ""):
            self._step = attrs["action"].rsplit("/", 1)[-1]
            self.forms[self._step] = {"name": attrs.get("aria-label") or "", "legend": ""}
        self._in_legend = self._in_legend or (tag == "legend" and self._step is not None)

    def handle_endtag(self, tag) -> None:
        self._in_legend = self._in_legend and tag != "legend"
        if tag == "form":
            self._step = None

    def handle_data(self, data) -> None:
        if self._in_legend:
            self.forms[self._step]["legend"] += data


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ko",
            {
                "answer": ("공무원의 답변 평가", "답변이 제안에 제대로 답하고 있습니까?"),
                "implementation": ("이행 평가", "이행 내용이 제안을 실현합니까?"),
            },
        ),
        (
            "en",
            {
                "answer": ("Judge the officials' answer", "Does the answer address the proposal?"),
                "implementation": (
                    "Judge the implementation",
                    "Does what was done deliver the proposal?",
                ),
            },
        ),
    ],
)
def test_the_answer_and_the_implementation_forms_ask_their_own_question(
    app, client, auth, language, expected
):
    with app.app_context():
        proposal_id = implement(answered_proposal()).id
        make_user(email="judge@example.org", language=language)
    auth.login("judge@example.org")

    def asked(html: str) -> dict:
        forms = _JudgementForms(html).forms
        return {step: (f["name"], f["legend"].strip()) for step, f in forms.items()}

    assert asked(client.get(f"/proposals/{proposal_id}").get_data(as_text=True)) == expected
    # sent back with an error (no choice), the implementation form still asks its own question
    refused = _judge(client, proposal_id, "implementation", "")
    assert refused.status_code == 400
    assert asked(refused.get_data(as_text=True)) == expected


def test_bad_judgements_change_nothing(app, client, auth):
    with app.app_context():
        proposal_id = answered_proposal().id
        make_user(email="judge@example.org")
    auth.login("judge@example.org")
    assert _judge(client, proposal_id, "answer", "thrilled").status_code == 400
    # the implementation cannot be judged before it happened
    response = _judge(client, proposal_id, "implementation", "satisfied")
    assert response.status_code == 409
    assert _judge(client, proposal_id, "everything", "satisfied").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Judgement)).all() == []


def test_judging_needs_a_login(app, client):
    with app.app_context():
        proposal_id = answered_proposal().id
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/proposals/{proposal_id}/judge/answer",
        data={"csrf_token": token, "judge-answer-value": "satisfied"},
    )
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalars(select(Judgement)).all() == []


def test_the_queue_shows_and_filters_satisfaction(app, client):
    with app.app_context():
        liked = answered_proposal(title="Liked benches")
        answered_proposal(title="Unjudged ramps")
        for _ in range(2):
            judgements.judge(make_user(), liked, JudgementStep.ANSWER, Satisfaction.SATISFIED)
        judgements.judge(make_user(), liked, JudgementStep.ANSWER, Satisfaction.PARTLY)
        db.session.commit()
    page = client.get("/proposals/").get_data(as_text=True)
    assert "Satisfied 2" in page and "Partly satisfied 1" in page
    filtered = client.get("/proposals/?satisfaction=mostly_satisfied").get_data(as_text=True)
    assert "Liked benches" in filtered and "Unjudged ramps" not in filtered
    unjudged = client.get("/proposals/?satisfaction=unjudged").get_data(as_text=True)
    assert "Liked benches" not in unjudged and "Unjudged ramps" in unjudged


def test_a_facilitator_sends_back_a_contested_proposal_from_the_page(app, client, auth):
    with app.app_context():
        app.config["FEEDBACK_CONTESTED_MINIMUM"] = 2
        proposal = implement(answered_proposal())
        for _ in range(2):
            judgements.judge(
                make_user(), proposal, JudgementStep.IMPLEMENTATION, Satisfaction.NOT_SATISFIED
            )
        db.session.commit()
        proposal_id = proposal.id
        make_user(Role.FACILITATOR, email="fac@example.org")
        make_user(email="citizen@example.org")
    auth.login("citizen@example.org")
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Contested" in page and "Send back to the agenda" not in page
    token = csrf_token_from(page)
    assert (
        client.post(f"/proposals/{proposal_id}/send-back", data={"csrf_token": token}).status_code
        == 403
    )
    auth.logout()
    auth.login("fac@example.org")
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    response = client.post(
        f"/proposals/{proposal_id}/send-back", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    item_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Revisit: More benches" in item_page
    assert "Back on the agenda" in client.get(f"/proposals/{proposal_id}").get_data(as_text=True)


def test_the_accountability_page_csv_and_json(app, client):
    with app.app_context():
        division = make_division()
        proposal = answered_proposal(division)
        judgements.judge(make_user(), proposal, JudgementStep.ANSWER, Satisfaction.SATISFIED)
        db.session.commit()
        slug = division.slug
    overview = client.get("/proposals/accountability").get_data(as_text=True)
    assert f"/proposals/accountability/{slug}" in overview
    page = client.get(f"/proposals/accountability/{slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-figure="received">1<' in html and 'class="bar-chart"' in html
    data = json.loads(client.get(f"/proposals/accountability/{slug}/figures.json").data)
    assert data["received"] == 1 and data["answered_on_time"] == 1
    assert data["satisfaction"]["answer"]["counts"]["satisfied"] == 1
    csv_response = client.get(f"/proposals/accountability/{slug}/figures.csv")
    assert csv_response.mimetype == "text/csv"
    assert "received,,1" in csv_response.get_data(as_text=True)
    assert client.get("/proposals/accountability/nowhere").status_code == 404
