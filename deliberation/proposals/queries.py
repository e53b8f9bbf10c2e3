"""Reads about proposals, timelines and notifications that pages and sockets share."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from deliberation.agendas.models import AgendaItem, Comment, Reaction
from deliberation.core.errors import NotFound
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals.feedback import filter_by_satisfaction
from deliberation.proposals.models import (
    AWAITING_RESPONSE,
    Notification,
    Proposal,
    ProposalEvent,
    ProposalState,
)
from deliberation.voting.queries import voter_ids_for_item

#: The queue's due-date filter: overdue, due within a week, or anything.
DUE_FILTERS = ("overdue", "week", "")


def get_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("There is no such proposal.")
    return proposal


def proposal_for_item(item_id: int) -> Proposal | None:
    return db.session.scalar(select(Proposal).where(Proposal.item_id == item_id))


def queue(
    *,
    division_id: int | None = None,
    state: ProposalState | None = None,
    due: str = "",
    satisfaction: str = "",
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
):
    """The officials' queue: filtered by division, state, due date and how citizens judged the
    current step, soonest due first."""
    now = now or utcnow()
    query = select(Proposal)
    if division_id:
        query = query.where(Proposal.division_id == division_id)
    if state:
        query = query.where(Proposal.state == state)
    if due == "overdue":
        query = query.where(Proposal.state.in_(AWAITING_RESPONSE), Proposal.due_at < now)
    elif due == "week":
        query = query.where(
            Proposal.state.in_(AWAITING_RESPONSE), Proposal.due_at < now + timedelta(days=7)
        )
    query = filter_by_satisfaction(query, satisfaction)
    query = query.order_by(
        Proposal.state.in_(AWAITING_RESPONSE).desc(), Proposal.due_at.asc(), Proposal.id.asc()
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def overdue_count(now: datetime | None = None) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Proposal.state.in_(AWAITING_RESPONSE), Proposal.due_at < (now or utcnow())
        )
    )


def timeline(proposal: Proposal) -> list[ProposalEvent]:
    """Every public step of a proposal, oldest first."""
    return list(
        db.session.scalars(
            select(ProposalEvent)
            .where(ProposalEvent.proposal_id == proposal.id)
            .order_by(ProposalEvent.id)
        )
    )


def discussion_participant_ids(item_id: int) -> set[int]:
    """People who took part in the item's discussion: its author, commenters and reactors."""
    author_id = db.session.scalar(select(AgendaItem.author_id).where(AgendaItem.id == item_id))
    writers = select(Comment.author_id).where(
        Comment.item_id == item_id, Comment.author_id.is_not(None)
    )
    reactors = select(Reaction.user_id).where(Reaction.item_id == item_id)
    people = set(db.session.scalars(writers.union(reactors)))
    if author_id:
        people.add(author_id)
    return people


def follower_ids(proposal: Proposal) -> set[int]:
    """Everyone told about each step: who discussed or voted on the proposal's item."""
    if proposal.item_id is None:
        return set()
    return discussion_participant_ids(proposal.item_id) | voter_ids_for_item(proposal.item_id)


def notifications_for(user_id: int, page: int = 1, per_page: int = 20):
    """A person's notifications, newest first, paginated."""
    query = (
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
