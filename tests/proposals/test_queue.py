"""The officials' queue: review, public response, progress, timeline, overdue, notifications."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import Role, User
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.proposals import queries, services
from deliberation.proposals.models import Notification, Proposal, ProposalState
from deliberation.voting import services as voting_services
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.voting.support import close_now, make_ballot, make_crowd, make_item


def adopted_proposal(voters: int = 3, division=None, author=None) -> Proposal:
    """An item voted through and closed: its proposal, queued, with voters to notify."""
    item = make_item(division=division, author=author)
    ballot = make_ballot(item)
    for uid in make_crowd(voters):
        voting_services.cast_vote(ballot.id, db.session.get(User, uid), "yes", f"adopt-{uid}-x")
        db.session.commit()
    close_now(ballot.id)
    return queries.proposal_for_item(item.id)


def _notifications(user_id=None):
    query = select(func.count()).select_from(Notification)
    if user_id:
        query = query.where(Notification.user_id == user_id)
    return db.session.scalar(query)


def test_adoption_queues_a_proposal_due_in_the_configured_days(app_ctx):
    app_ctx.config["PROPOSAL_RESPONSE_DAYS"] = 10
    proposal = adopted_proposal(voters=3)
    assert proposal.state == ProposalState.QUEUED
    due_in = proposal.due_at - proposal.created_at
    assert timedelta(days=9, hours=23) < due_in <= timedelta(days=10)
    assert not proposal.overdue
    # the 3 voters and the item's author are told it entered the queue
    assert _notifications() == 4
    assert [step.kind.value for step in queries.timeline(proposal)] == ["created"]


def test_the_full_lifecycle_is_on_the_public_timeline(app_ctx):
    official = make_user(Role.OFFICIAL)
    proposal = adopted_proposal(voters=2)
    services.start_review(official, proposal)
    services.respond(official, proposal, ProposalState.PARTIALLY_ACCEPTED, "We fund half.")
    services.post_progress(official, proposal, "Tender published.", ProposalState.IN_PROGRESS)
    services.post_progress(official, proposal, "Contract signed.")
    services.post_progress(official, proposal, "Open since May.", ProposalState.IMPLEMENTED)
    services.post_progress(official, proposal, "Usage reviewed.", ProposalState.MONITORING)
    db.session.commit()
    steps = queries.timeline(proposal)
    assert [(s.kind.value, s.state.value) for s in steps] == [
        ("created", "queued"),
        ("review_started", "under_review"),
        ("responded", "partially_accepted"),
        ("progress", "in_progress"),
        ("progress", "in_progress"),
        ("progress", "implemented"),
        ("progress", "monitoring"),
    ]
    assert proposal.response == "We fund half."
    assert _notifications() == 3 * len(steps)  # two voters and the author, each step
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"proposal.review", "proposal.respond", "proposal.progress"} <= actions


def test_bad_official_actions_change_nothing(app_ctx):
    official = make_user(Role.OFFICIAL)
    citizen = make_user()
    proposal = adopted_proposal(voters=1)
    before = (_notifications(), len(queries.timeline(proposal)))
    with pytest.raises(PermissionDenied):
        services.start_review(citizen, proposal)
    db.session.rollback()
    with pytest.raises(IllegalTransition):  # must start the review first
        services.respond(official, proposal, ProposalState.ACCEPTED, "Yes.")
    db.session.rollback()
    services.start_review(official, proposal)
    db.session.commit()
    before = (_notifications(), len(queries.timeline(proposal)))
    with pytest.raises(DomainError) as info:
        services.respond(official, proposal, ProposalState.ACCEPTED, "   ")
    assert info.value.code == "text_required"
    db.session.rollback()
    with pytest.raises(DomainError):
        services.respond(official, proposal, ProposalState.IN_PROGRESS, "Skipping ahead.")
    db.session.rollback()
    with pytest.raises(IllegalTransition):
        services.post_progress(official, proposal, "Too early.")
    db.session.rollback()
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.UNDER_REVIEW and proposal.response == ""
    assert (_notifications(), len(queries.timeline(proposal))) == before
    services.respond(official, proposal, ProposalState.DECLINED, "Out of our remit.")
    db.session.commit()
    with pytest.raises(IllegalTransition):
        services.post_progress(official, proposal, "Nothing", ProposalState.IN_PROGRESS)


def test_overdue_proposals_are_flagged_and_filtered(app, client):
    with app.app_context():
        north = make_division()
        late = adopted_proposal(voters=1, division=north)
        fresh = adopted_proposal(voters=1)
        late.due_at = utcnow() - timedelta(days=1)
        db.session.commit()
        assert late.overdue and not fresh.overdue
        assert queries.overdue_count() == 1
        assert [p.id for p in queries.queue(due="overdue").items] == [late.id]
        assert [p.id for p in queries.queue(division_id=north.id).items] == [late.id]
        assert {p.id for p in queries.queue(state=ProposalState.QUEUED).items} == {
            late.id,
            fresh.id,
        }
        assert queries.queue(state=ProposalState.DECLINED).items == []
        late_id, north_id, late_title = late.id, north.id, late.title
    page = client.get("/proposals/").get_data(as_text=True)
    assert "1 proposal is overdue." in page
    assert page.count("Overdue") >= 2
    filtered = client.get(f"/proposals/?division={north_id}&due=overdue&state=queued")
    assert filtered.status_code == 200
    assert f"/proposals/{late_id}" in filtered.get_data(as_text=True)
    assert late_title in filtered.get_data(as_text=True)
    junk = client.get("/proposals/?division=abc&state=nope&due=later&page=-3")
    assert junk.status_code == 200


def test_official_responds_over_http_and_citizen_cannot(app, client, auth):
    with app.app_context():
        proposal_id = adopted_proposal(voters=1).id
        make_user(Role.OFFICIAL, email="official@example.org")
        make_user(email="citizen@example.org")
    auth.login("citizen@example.org")
    token = csrf_token_from(client.get(f"/proposals/{proposal_id}").get_data(as_text=True))
    assert "Official actions" not in client.get(f"/proposals/{proposal_id}").get_data(True)
    assert (
        client.post(f"/proposals/{proposal_id}/review", data={"csrf_token": token}).status_code
        == 403
    )
    auth.logout()
    auth.login("official@example.org")
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    token = csrf_token_from(page)
    assert "Start review" in page
    response = client.post(f"/proposals/{proposal_id}/review", data={"csrf_token": token})
    assert response.status_code == 302
    empty = client.post(
        f"/proposals/{proposal_id}/respond",
        data={"csrf_token": token, "response-decision": "accepted", "response-text": ""},
    )
    assert empty.status_code == 400
    assert "Please write the public response." in empty.get_data(as_text=True)
    done = client.post(
        f"/proposals/{proposal_id}/respond",
        data={
            "csrf_token": token,
            "response-decision": "accepted",
            "response-text": "We will **extend** the hours.",
        },
        follow_redirects=True,
    )
    body = done.get_data(as_text=True)
    assert "We will <strong>extend</strong> the hours." in body
    assert "Report progress" in body
    progress = client.post(
        f"/proposals/{proposal_id}/progress",
        data={
            "csrf_token": token,
            "progress-advance_to": "in_progress",
            "progress-text": "Hiring.",
        },
        follow_redirects=True,
    )
    assert "Hiring." in progress.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).state == ProposalState.IN_PROGRESS


def test_notifications_page_and_live_notification(app, client, auth):
    with app.app_context():
        author = make_user(email="author@example.org")
        proposal = adopted_proposal(voters=1, author=author)
        proposal_id = proposal.id
        official = make_user(Role.OFFICIAL)
        official_id = official.id
    auth.login("author@example.org")
    page = client.get("/proposals/notifications").get_data(as_text=True)
    assert "Entered the officials&#39; queue" in page and "1 unread" in page
    listener = socketio.test_client(app, flask_test_client=client, namespace="/proposals")
    ack = listener.emit(
        "follow", {"proposal_id": proposal_id}, namespace="/proposals", callback=True
    )
    assert ack["ok"] and ack["state"] == "queued"
    with app.app_context():
        services.start_review(
            db.session.get(User, official_id), db.session.get(Proposal, proposal_id)
        )
        assert listener.get_received("/proposals") == []  # nothing before the commit
        db.session.commit()
    received = listener.get_received("/proposals")
    names = sorted(e["name"] for e in received)
    assert names == ["notification", "timeline"]
    notice = next(e["args"][0] for e in received if e["name"] == "notification")
    assert notice["kind"] == "review_started" and notice["proposal_id"] == proposal_id
    assert "choice" not in notice
    unread = listener.emit("notifications", {}, namespace="/proposals", callback=True)
    assert unread == {"ok": True, "unread": 2}
    marked = listener.emit("mark_read", {}, namespace="/proposals", callback=True)
    assert marked == {"ok": True, "marked": 2}
    assert listener.emit("notifications", {}, namespace="/proposals", callback=True)["unread"] == 0
    listener.disconnect(namespace="/proposals")


def test_a_roundtable_theme_can_enter_the_queue(app_ctx):
    follower = make_user()
    proposal = services.create_proposal(
        title="Quiet rooms in every library",
        summary="From table 4.",
        snapshot={"roundtable": {"session_id": 3, "votes": 40}},
        source_kind="roundtable-theme",
        source_ref="3:7",
        follower_ids={follower.id},
    )
    db.session.commit()
    assert proposal.item_id is None and proposal.state == ProposalState.QUEUED
    assert _notifications(follower.id) == 1


def test_who_takes_a_step_is_not_notified_of_it(app, client, auth):
    """An official who follows a proposal (here: wrote its item) hears of others' steps, not of
    their own review, answer and progress notes; the other followers hear of every step."""
    with app.app_context():
        official = make_user(Role.OFFICIAL, email="official@example.org", language="ko")
        colleague = make_user(Role.OFFICIAL)
        proposal = adopted_proposal(voters=1, author=official)
        official_id = official.id
        assert _notifications(official_id) == 1  # told it entered the queue: nobody's step
        services.start_review(colleague, proposal)
        db.session.commit()
        assert _notifications(official_id) == 2  # a colleague's step is news
        services.respond(official, proposal, ProposalState.PARTIALLY_ACCEPTED, "Half of it.")
        services.post_progress(official, proposal, "Started.", ProposalState.IN_PROGRESS)
        services.post_progress(official, proposal, "Done.", ProposalState.IMPLEMENTED)
        db.session.commit()
        assert _notifications(official_id) == 2
        steps = len(queries.timeline(proposal))
        assert _notifications() == 2 + steps  # the official 2, the voter all 5 steps
    auth.login("official@example.org")
    page = client.get("/proposals/notifications").get_data(as_text=True)
    assert 'data-count="2"' in page
    assert "검토 시작 (검토 중)" in page  # the colleague's review
    assert "공무원 답변 (" not in page and "추진 중" not in page  # not their own steps
