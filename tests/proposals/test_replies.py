"""Replies under judgements' comments, flags and moderation: services and routes."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import Role
from deliberation.agendas.models import FlagStatus
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, NotFound, PermissionDenied
from deliberation.extensions import db
from deliberation.proposals import feedback, judgements, replies
from deliberation.proposals.models import (
    REPLY_MAX_DEPTH,
    JudgementFlag,
    JudgementReply,
    JudgementStep,
    Satisfaction,
)
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.proposals.feedback_helpers import answered_proposal


def _commented(comment: str = "Twenty benches are not enough.", email: str | None = None):
    """An answered proposal and one citizen's judgement with a comment."""
    proposal = answered_proposal()
    author = make_user(email=email)
    judgement = judgements.judge(
        author, proposal, JudgementStep.ANSWER, Satisfaction.PARTLY, comment
    )
    db.session.commit()
    return proposal, judgement


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_replies_nest_up_to_the_depth_limit_then_join_the_deepest_level(app_ctx):
    _, judgement = _commented()
    citizen = make_user()
    parent = None
    for _level in range(REPLY_MAX_DEPTH + 1):
        parent, created = replies.post_reply(
            citizen, judgement.id, "I agree.", parent_id=parent.id if parent else None
        )
        assert created
    db.session.commit()
    assert parent.depth == REPLY_MAX_DEPTH
    deeper, _ = replies.post_reply(citizen, judgement.id, "And more.", parent_id=parent.id)
    db.session.commit()
    assert deeper.depth == REPLY_MAX_DEPTH
    assert deeper.parent_id == parent.parent_id  # a sibling on the deepest level
    roots, children = feedback.reply_thread(judgement.id)
    assert [r.id for r in roots.items] == [deeper.root_id]
    assert sum(len(c) for c in children.values()) == REPLY_MAX_DEPTH + 1
    assert "judgement_reply.create" in _actions()


def test_a_resubmitted_reply_with_the_same_client_id_posts_once(app_ctx):
    _, judgement = _commented()
    citizen = make_user()
    first, created = replies.post_reply(citizen, judgement.id, "Yes.", client_id="abc123")
    db.session.commit()
    again, created_again = replies.post_reply(citizen, judgement.id, "Yes.", client_id="abc123")
    db.session.commit()
    assert created and not created_again and again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(JudgementReply)) == 1
    with pytest.raises(DomainError):  # someone else cannot reuse the id
        replies.post_reply(make_user(), judgement.id, "Yes.", client_id="abc123")
    db.session.rollback()
    with pytest.raises(IntegrityError):  # the database holds the rule
        db.session.add(
            JudgementReply(judgement_id=judgement.id, author_id=citizen.id, client_id="abc123")
        )
        db.session.flush()
    db.session.rollback()


def test_replies_refuse_empty_and_too_long_text_and_comment_less_judgements(app_ctx):
    proposal, judgement = _commented()
    citizen = make_user()
    with pytest.raises(DomainError):
        replies.post_reply(citizen, judgement.id, "   ")
    with pytest.raises(DomainError):
        replies.post_reply(citizen, judgement.id, "x" * (replies.REPLY_MAX_LENGTH + 1))
    silent = judgements.judge(make_user(), proposal, JudgementStep.ANSWER, Satisfaction.PARTLY)
    db.session.commit()
    with pytest.raises(NotFound):
        replies.post_reply(citizen, silent.id, "Hello")


def test_only_the_author_edits_or_deletes_a_reply_and_it_is_audited(app_ctx):
    _, judgement = _commented()
    author, other = make_user(), make_user()
    reply, _ = replies.post_reply(author, judgement.id, "Fist draft")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        replies.edit_reply(other, reply.id, "Vandalised")
    with pytest.raises(PermissionDenied):
        replies.delete_reply(other, reply.id)
    replies.edit_reply(author, reply.id, "First draft")
    db.session.commit()
    assert reply.body == "First draft" and reply.edited_at is not None
    replies.delete_reply(author, reply.id)
    db.session.commit()
    assert reply.is_deleted and reply.body == ""
    assert {"judgement_reply.edit", "judgement_reply.delete"} <= set(_actions())


def test_one_flag_per_person_and_only_facilitators_hide_with_a_reason(app_ctx):
    _, judgement = _commented()
    reply, _ = replies.post_reply(make_user(), judgement.id, "Rude words")
    flagger, citizen = make_user(), make_user()
    facilitator = make_user(Role.FACILITATOR)
    db.session.commit()
    flag, created = replies.flag_reply(flagger, reply.id, "Insulting")
    again, created_again = replies.flag_reply(flagger, reply.id, "Still insulting")
    replies.flag_judgement_comment(flagger, judgement.id, "Off topic")
    db.session.commit()
    assert created and not created_again and again.id == flag.id
    assert db.session.scalar(select(func.count()).select_from(JudgementFlag)) == 2
    assert {e["kind"] for e in feedback.moderation_queue()} == {"reply", "judgement"}

    with pytest.raises(PermissionDenied):
        replies.hide_reply(citizen, reply.id, "I do not like it")
    with pytest.raises(DomainError):
        replies.hide_reply(facilitator, reply.id, "  ")
    replies.hide_reply(facilitator, reply.id, "Personal attack")
    db.session.commit()
    assert reply.is_hidden and reply.hidden_reason == "Personal attack"
    assert db.session.get(JudgementFlag, flag.id).status == FlagStatus.HIDDEN
    assert [e["kind"] for e in feedback.moderation_queue()] == ["judgement"]

    assert replies.dismiss_flags(facilitator, judgement_id=judgement.id) == 1
    db.session.commit()
    assert feedback.moderation_queue() == []
    replies.restore_reply(facilitator, reply.id, "Reconsidered")
    db.session.commit()
    assert not reply.is_hidden
    assert {
        "judgement_reply.flag",
        "judgement.flag",
        "judgement_reply.hide",
        "judgement.dismiss_flags",
        "judgement_reply.restore",
    } <= set(_actions())


def test_a_hidden_comment_keeps_its_judgement_and_takes_no_replies(app_ctx):
    proposal, judgement = _commented()
    facilitator = make_user(Role.FACILITATOR)
    replies.hide_judgement_comment(facilitator, judgement, "Names a private person")
    db.session.commit()
    assert feedback.judgement_results(proposal.id)["answer"]["total"] == 1
    with pytest.raises(DomainError):
        replies.post_reply(make_user(), judgement.id, "Who?")
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "judgement.hide_comment")
    )
    assert entry.actor_id == facilitator.id
    assert entry.details["reason"] == "Names a private person"
    author = judgement.author
    with pytest.raises(DomainError):  # the author cannot slip new text past the moderator
        judgements.judge(author, proposal, JudgementStep.ANSWER, Satisfaction.PARTLY, "Other")
    db.session.rollback()
    judgements.judge(
        author, proposal, JudgementStep.ANSWER, Satisfaction.SATISFIED, judgement.comment
    )
    db.session.commit()  # the value still changes
    assert judgement.value == Satisfaction.SATISFIED and judgement.comment_is_hidden
    replies.restore_judgement_comment(facilitator, judgement, "The name was public")
    db.session.commit()
    assert not judgement.comment_is_hidden


# --- routes ------------------------------------------------------------------------------------


def _post(client, url: str, page_url: str, **data):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_a_citizen_replies_on_the_thread_page_and_a_resubmit_posts_once(app, client, auth):
    with app.app_context():
        proposal, judgement = _commented(email="commenter@example.org")
        proposal_id, judgement_id = proposal.id, judgement.id
        make_user(email="replier@example.org", name="Replier")
    thread = f"/proposals/judgements/{judgement_id}"
    anonymous = client.get(thread).get_data(as_text=True)
    assert "Twenty benches are not enough." in anonymous and "Log in to reply." in anonymous
    assert client.post(f"{thread}/replies", data={"body": "x"}).status_code in (302, 400)
    auth.login("replier@example.org")
    for _attempt in range(2):
        response = _post(
            client, f"{thread}/replies", thread, body="Benches <b>and</b> shade", client_id="c-1"
        )
        assert response.status_code == 302
    page = client.get(thread).get_data(as_text=True)
    assert page.count('reply-body">Benches &lt;b&gt;and&lt;/b&gt; shade') == 1  # as typed
    assert "1 reply" in page
    detail = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "1 reply" in detail
    empty = _post(client, f"{thread}/replies", thread, body="", client_id="c-2")
    assert empty.status_code == 400
    assert "Please write your reply." in empty.get_data(as_text=True)


def test_only_facilitators_moderate_and_hidden_text_is_replaced_by_the_reason(app, client, auth):
    with app.app_context():
        _, judgement = _commented(comment="SECRET-INSULT", email="rude@example.org")
        judgement_id = judgement.id
        make_user(email="flagger@example.org")
        make_user(Role.FACILITATOR, email="mod@example.org")
    thread = f"/proposals/judgements/{judgement_id}"
    auth.login("flagger@example.org")
    assert _post(client, f"{thread}/flag", thread, reason="Insulting").status_code == 302
    assert "You flagged this comment." in client.get(thread).get_data(as_text=True)
    assert _post(client, f"{thread}/hide", thread, reason="mine").status_code == 403
    assert client.get("/proposals/moderation").status_code == 403
    auth.logout()
    auth.login("mod@example.org")
    queue = client.get("/proposals/moderation").get_data(as_text=True)
    assert "SECRET-INSULT" in queue and "Insulting" in queue
    assert _post(client, f"{thread}/hide", thread, reason="").status_code == 400
    response = _post(
        client, f"{thread}/hide", "/proposals/moderation", reason="Insults", next="moderation"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderation")
    assert "Nothing to review." in client.get("/proposals/moderation").get_data(as_text=True)
    assert "SECRET-INSULT" in client.get(thread).get_data(as_text=True)  # to decide on restoring
    auth.logout()
    page = client.get(thread).get_data(as_text=True)
    assert "SECRET-INSULT" not in page
    assert "Hidden by a moderator: Insults" in page
    auth.login("flagger@example.org")
    page = client.get(thread).get_data(as_text=True)
    assert "SECRET-INSULT" not in page and "Hidden by a moderator: Insults" in page
    assert "Reply to this comment" not in page  # a hidden comment takes no replies
    auth.logout()
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "judgement.hide_comment")
        )
        assert entry.details["flags_resolved"] == 1


def test_the_author_edits_and_deletes_a_reply_and_others_cannot(app, client, auth):
    with app.app_context():
        _, judgement = _commented()
        author = make_user(email="author@example.org")
        make_user(email="other@example.org")
        reply, _ = replies.post_reply(author, judgement.id, "Typo hree")
        db.session.commit()
        thread, reply_id = f"/proposals/judgements/{judgement.id}", reply.id
    auth.login("other@example.org")
    edit = _post(client, f"/proposals/replies/{reply_id}/edit", thread, **{
        f"edit-{reply_id}-body": "Hijacked"
    })  # fmt: skip
    assert edit.status_code == 403
    assert _post(client, f"/proposals/replies/{reply_id}/delete", thread).status_code == 403
    auth.logout()
    auth.login("author@example.org")
    edit = _post(client, f"/proposals/replies/{reply_id}/edit", thread, **{
        f"edit-{reply_id}-body": "Typo here"
    })  # fmt: skip
    assert edit.status_code == 302
    page = client.get(thread).get_data(as_text=True)
    assert "Typo here" in page and "(edited)" in page
    assert _post(client, f"/proposals/replies/{reply_id}/delete", thread).status_code == 302
    page = client.get(thread).get_data(as_text=True)
    assert "Typo here" not in page and "[deleted]" in page


def test_a_long_thread_is_paged_by_direct_replies_with_their_answers(app, client):
    with app.app_context():
        _, judgement = _commented()
        citizen = make_user()
        first = None
        for n in range(feedback.REPLIES_PER_PAGE + 1):
            reply, _ = replies.post_reply(citizen, judgement.id, f"Direct reply number {n:02d}")
            first = first or reply
        replies.post_reply(citizen, judgement.id, "An answer to the first", parent_id=first.id)
        db.session.commit()
        thread = f"/proposals/judgements/{judgement.id}"
    page_one = client.get(thread).get_data(as_text=True)
    assert "Direct reply number 00" in page_one and "An answer to the first" in page_one
    assert "Direct reply number 20" not in page_one
    assert "22 replies" in page_one and "Page 1 of 2" in page_one
    page_two = client.get(f"{thread}?page=2").get_data(as_text=True)
    assert "Direct reply number 20" in page_two and "Direct reply number 00" not in page_two
