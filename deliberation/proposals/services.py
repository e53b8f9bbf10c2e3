"""Every write about proposals: entering the queue, review, response, progress, following,
notifications."""

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.core.realtime import emit_after_commit, user_room
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.proposals import queries
from deliberation.proposals.models import (
    PROGRESS_NOTE_STATES,
    RESPONSE_STATES,
    EventKind,
    Notification,
    Proposal,
    ProposalEvent,
    ProposalFollow,
    ProposalState,
)
from deliberation.proposals.rooms import NAMESPACE, proposal_room

MAX_TEXT = 20_000


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied(_("Only officials can do that."), code="not_official")


def _public_text(text: str | None, *, missing: str) -> str:
    """The stripped public text of a response or a progress note; `missing` is what the
    official is told when it is empty (each form asks for its own text)."""
    text = (text or "").strip()
    if not text:
        raise DomainError(missing, code="text_required")
    if len(text) > MAX_TEXT:
        raise DomainError(
            _("The text is too long (at most %(n)d characters).", n=MAX_TEXT), code="too_long"
        )
    return text


def create_proposal(
    *,
    title: str,
    summary: str,
    snapshot: dict[str, Any],
    division_id: int | None = None,
    item: AgendaItem | None = None,
    source_kind: str = "item",
    source_ref: str | None = None,
    follower_ids: set[int] | None = None,
) -> Proposal:
    """Put an adopted item or roundtable theme in the officials' queue with a frozen snapshot."""
    now = utcnow()
    proposal = Proposal(
        item=item,
        title=title[:200],
        summary=summary,
        division_id=division_id,
        snapshot=snapshot,
        source_kind=source_kind,
        source_ref=source_ref,
        state=ProposalState.QUEUED,
        created_at=now,
        due_at=now + timedelta(days=current_app.config.get("PROPOSAL_RESPONSE_DAYS", 30)),
    )
    db.session.add(proposal)
    db.session.flush()  # UNIQUE item_id: an item enters the queue once
    audit.record("proposal.create", "proposal", proposal.id, source=source_kind)
    _add_step(proposal, EventKind.CREATED, actor=None, text="", extra_followers=follower_ids)
    return proposal


def create_proposal_from_item(item: AgendaItem, snapshot: dict[str, Any]) -> Proposal:
    """Queue an adopted agenda item; `snapshot` holds its tally and discussion statistics."""
    return create_proposal(
        title=item.title,
        summary=item.body,
        snapshot=snapshot,
        division_id=item.division_id,
        item=item,
        source_kind="item",
        source_ref=str(item.id),
    )


def start_review(actor: User, proposal: Proposal) -> Proposal:
    """An official takes up a queued proposal."""
    _require_official(actor)
    proposal.move_to(ProposalState.UNDER_REVIEW)
    audit.record("proposal.review", "proposal", proposal.id, actor_id=actor.id)
    _add_step(proposal, EventKind.REVIEW_STARTED, actor=actor, text="")
    return proposal


def respond(actor: User, proposal: Proposal, decision: ProposalState, text: str) -> Proposal:
    """An official answers in public: accepted, partially accepted or declined, with reasons."""
    _require_official(actor)
    if decision not in RESPONSE_STATES:
        raise DomainError(_("Choose accepted, partially accepted or declined."), code="decision")
    text = _public_text(text, missing=_("Please write the public response."))
    proposal.move_to(decision)
    proposal.response = text
    proposal.responded_at = utcnow()
    audit.record(
        "proposal.respond", "proposal", proposal.id, actor_id=actor.id, decision=decision.value
    )
    _add_step(proposal, EventKind.RESPONDED, actor=actor, text=text)
    return proposal


def post_progress(
    actor: User, proposal: Proposal, text: str, advance_to: ProposalState | None = None
) -> Proposal:
    """An official reports implementation progress, optionally moving to the next stage."""
    _require_official(actor)
    text = _public_text(text, missing=_("Please write what has been done so far."))
    if advance_to is not None:
        proposal.move_to(advance_to)
    elif proposal.state not in PROGRESS_NOTE_STATES:
        raise IllegalTransition(
            _("Progress can be reported once implementation has started."), code="not_started"
        )
    audit.record(
        "proposal.progress", "proposal", proposal.id, actor_id=actor.id, state=proposal.state.value
    )
    _add_step(proposal, EventKind.PROGRESS, actor=actor, text=text)
    return proposal


def _add_step(
    proposal: Proposal,
    kind: EventKind,
    *,
    actor: User | None,
    text: str,
    extra_followers: set[int] | None = None,
) -> ProposalEvent:
    step = ProposalEvent(
        proposal=proposal, kind=kind, state=proposal.state, text=text, author=actor
    )
    db.session.add(step)
    db.session.flush()
    notify_followers(proposal, step, extra=extra_followers)
    emit_after_commit(
        "timeline",
        {
            "proposal_id": proposal.id,
            "event_id": step.id,
            "kind": kind.value,
            "state": proposal.state.value,
        },
        to=proposal_room(proposal.id),
        namespace=NAMESPACE,
    )
    return step


def notify_followers(proposal: Proposal, step: ProposalEvent, extra: set[int] | None = None) -> int:
    """Tell everyone following the proposal about this step, in the app and live (who
    discussed or voted, or chose to follow, unless they chose to stop); not the person who
    took it (their own answer or note is no news to them). Follower mail is read from these
    notifications, so the same people are mailed."""
    followers = queries.follower_ids(proposal, also=extra)
    recipients = sorted(followers - {step.author_id})
    if not recipients:
        return 0
    now = utcnow()
    db.session.execute(
        insert(Notification),
        [
            {"user_id": uid, "event_id": step.id, "proposal_id": proposal.id, "created_at": now}
            for uid in recipients
        ],
    )
    payload = {
        "proposal_id": proposal.id,
        "event_id": step.id,
        "kind": step.kind.value,
        "state": proposal.state.value,
        "title": proposal.title,
    }
    for uid in _reachable(recipients):
        emit_after_commit("notification", payload, to=user_room(uid), namespace=NAMESPACE)
    return len(recipients)


def _reachable(user_ids: list[int]) -> list[int]:
    """Who may have a live socket: everyone with a message queue (other workers hold sockets),
    else only the people connected to this process, so 100,000 followers are not 100,000 emits.
    """
    server = socketio.server
    if current_app.config.get("REDIS_URL") or server is None:
        return user_ids
    try:
        rooms = server.manager.rooms.get(NAMESPACE, {})
    except AttributeError:
        return user_ids
    return [uid for uid in user_ids if rooms.get(user_room(uid))]


def follow(user: User, proposal: Proposal) -> bool:
    """A person chooses to be told of each step of the proposal, whether or not they discussed
    or voted on it; returns whether the choice changed anything."""
    return _choose_to_follow(user, proposal, following=True)


def stop_following(user: User, proposal: Proposal) -> bool:
    """A person chooses to hear no more of the proposal's steps, even having discussed or voted
    on it; returns whether the choice changed anything."""
    return _choose_to_follow(user, proposal, following=False)


def _choose_to_follow(user: User, proposal: Proposal, *, following: bool) -> bool:
    """Record the person's choice (one row per person and proposal); choosing what they had
    already chosen changes nothing and is not audited again."""
    choice = _own_choice(user.id, proposal.id)
    if choice is None:
        choice = ProposalFollow(user_id=user.id, proposal_id=proposal.id, following=following)
        try:
            with db.session.begin_nested():
                db.session.add(choice)
        except IntegrityError:  # the same person's first choice committed meanwhile
            choice = _own_choice(user.id, proposal.id)
            if choice is None:
                raise
            if choice.following == following:
                return False
        else:
            _audit_choice(user, proposal, following)
            return True
    elif choice.following == following:
        return False
    choice.following = following
    choice.chosen_at = utcnow()
    db.session.flush()
    _audit_choice(user, proposal, following)
    return True


def _own_choice(user_id: int, proposal_id: int) -> ProposalFollow | None:
    return db.session.scalar(
        select(ProposalFollow).where(
            ProposalFollow.user_id == user_id, ProposalFollow.proposal_id == proposal_id
        )
    )


def _audit_choice(user: User, proposal: Proposal, following: bool) -> None:
    action = "proposal.follow" if following else "proposal.stop_following"
    audit.record(action, "proposal", proposal.id, actor_id=user.id)


def mark_notifications_read(user: User, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a person's notifications read."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    return db.session.execute(statement).rowcount


def add_public_step(
    proposal: Proposal, kind: EventKind, *, actor: User | None, text: str
) -> ProposalEvent:
    """Add a step to a proposal's public timeline and tell everyone following it."""
    return _add_step(proposal, kind, actor=actor, text=text)
