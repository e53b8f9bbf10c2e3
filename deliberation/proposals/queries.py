"""Reads about proposals, timelines and notifications that pages and sockets share."""

from datetime import datetime, timedelta

from sqlalchemy import func, select, union

from deliberation.accounts.models import User
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
    ProposalFollow,
    ProposalState,
)
from deliberation.voting.models import Ballot, Vote

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


def _implicit_follower_ids(item_id: int, only: int | None = None) -> set[int]:
    """Who follows the item's proposal without having chosen to: the item's author, its
    commenters and reactors, and its voters (or, with `only`, whether that one person is)."""
    author = select(AgendaItem.author_id.label("user_id")).where(
        AgendaItem.id == item_id, AgendaItem.author_id.is_not(None)
    )
    writers = select(Comment.author_id).where(
        Comment.item_id == item_id, Comment.author_id.is_not(None)
    )
    reactors = select(Reaction.user_id).where(Reaction.item_id == item_id)
    voters = (
        select(Vote.voter_id)
        .join(Ballot, Ballot.id == Vote.ballot_id)
        .where(Ballot.item_id == item_id)
    )
    if only is not None:
        author = author.where(AgendaItem.author_id == only)
        writers = writers.where(Comment.author_id == only)
        reactors = reactors.where(Reaction.user_id == only)
        voters = voters.where(Vote.voter_id == only)
    return set(db.session.scalars(union(author, writers, reactors, voters)))


def _choices(proposal_id: int, only: int | None = None) -> dict[int, bool]:
    """People's own choices about the proposal: user id -> following (True) or stopped."""
    query = select(ProposalFollow.user_id, ProposalFollow.following).where(
        ProposalFollow.proposal_id == proposal_id
    )
    if only is not None:
        query = query.where(ProposalFollow.user_id == only)
    return {user_id: following for user_id, following in db.session.execute(query)}


def follower_ids(proposal: Proposal, also: set[int] | None = None) -> set[int]:
    """Everyone told about each step: who discussed or voted on the proposal's item (and
    `also`, e.g. the people at a roundtable's tables) or chose to follow it, less everyone who
    chose to stop following it."""
    implicit = set(also or ())
    if proposal.item_id is not None:
        implicit |= _implicit_follower_ids(proposal.item_id)
    choices = _choices(proposal.id)
    chose_to_follow = {uid for uid, following in choices.items() if following}
    chose_to_stop = {uid for uid, following in choices.items() if not following}
    return (implicit | chose_to_follow) - chose_to_stop


def is_following(user: User, proposal: Proposal) -> bool:
    """Whether the person is told of each step of the proposal: their own choice if they made
    one, else whether they discussed or voted on its item."""
    choice = _choices(proposal.id, only=user.id).get(user.id)
    if choice is not None:
        return choice
    if proposal.item_id is None:
        return False
    return bool(_implicit_follower_ids(proposal.item_id, only=user.id))


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
