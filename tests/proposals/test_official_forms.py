"""The officials' forms on a proposal's page: a refused answer or progress note is explained at
its own field, in the official's language, and what they chose elsewhere in the form stays."""

from html.parser import HTMLParser

import pytest

from deliberation.accounts.models import Role
from deliberation.extensions import db
from deliberation.proposals import queries, services
from deliberation.proposals.models import Proposal, ProposalState
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.proposals.test_queue import adopted_proposal


class _Fields(HTMLParser):
    """Each element with an id (its attributes and text), and each select's chosen value."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self.selected: dict[str, str] = {}
        self._open: list[str | None] = []
        self._select: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs.get("id")
        if tag == "option" and "selected" in attrs and self._select:
            self.selected[self._select] = attrs.get("value", "")
        if "id" in attrs:
            self.attrs[attrs["id"]] = attrs
            self.text.setdefault(attrs["id"], "")
        if tag not in ("input", "option", "meta", "link", "br", "img"):
            self._open.append(attrs.get("id"))

    def handle_endtag(self, tag) -> None:
        if tag == "select":
            self._select = None
        if tag not in ("input", "option", "meta", "link", "br", "img") and self._open:
            self._open.pop()

    def handle_data(self, data) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data


def _post(client, proposal_id: int, action: str, data: dict):
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    return client.post(
        f"/proposals/{proposal_id}/{action}", data={"csrf_token": csrf_token_from(page), **data}
    )


def _assert_refused_at(page: _Fields, field_id: str, message: str) -> None:
    field = page.attrs[field_id]
    assert field.get("aria-invalid") == "true"
    assert field.get("aria-describedby") == f"{field_id}-error"
    assert page.text[f"{field_id}-error"].strip() == message


@pytest.mark.parametrize(
    ("language", "asked", "not_asked"),
    [
        ("ko", "진행 상황을 작성하세요.", "공개 답변을 작성하세요."),
        ("en", "Please write what has been done so far.", "Please write the public response."),
    ],
)
def test_an_empty_progress_note_is_asked_for_at_the_note(
    app, client, auth, language, asked, not_asked
):
    with app.app_context():
        official = make_user(Role.OFFICIAL, email="official@example.org", language=language)
        proposal = adopted_proposal(voters=1)
        services.start_review(official, proposal)
        services.respond(official, proposal, ProposalState.ACCEPTED, "We agree.")
        services.post_progress(official, proposal, "Tender out.", ProposalState.IN_PROGRESS)
        db.session.commit()
        proposal_id, steps = proposal.id, len(queries.timeline(proposal))
    auth.login("official@example.org")
    sent = _post(
        client,
        proposal_id,
        "progress",
        {"progress-advance_to": "implemented", "progress-text": "   "},
    )
    assert sent.status_code == 400
    html = sent.get_data(as_text=True)
    assert not_asked not in html  # the answer was published already
    page = _Fields(html)
    _assert_refused_at(page, "progress-text", asked)
    assert page.selected["progress-advance_to"] == "implemented"  # the stage chosen stays
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal.state == ProposalState.IN_PROGRESS
        assert len(queries.timeline(proposal)) == steps


@pytest.mark.parametrize(
    ("language", "asked"),
    [("ko", "공개 답변을 작성하세요."), ("en", "Please write the public response.")],
)
def test_an_empty_answer_is_asked_for_at_the_answer(app, client, auth, language, asked):
    with app.app_context():
        official = make_user(Role.OFFICIAL, email="official@example.org", language=language)
        proposal = adopted_proposal(voters=1)
        services.start_review(official, proposal)
        db.session.commit()
        proposal_id = proposal.id
    auth.login("official@example.org")
    sent = _post(
        client,
        proposal_id,
        "respond",
        {"response-decision": "partially_accepted", "response-text": ""},
    )
    assert sent.status_code == 400
    page = _Fields(sent.get_data(as_text=True))
    _assert_refused_at(page, "response-text", asked)
    assert page.selected["response-decision"] == "partially_accepted"  # the decision stays
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal.state == ProposalState.UNDER_REVIEW and proposal.response == ""
