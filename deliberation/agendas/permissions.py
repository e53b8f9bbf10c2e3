"""Who may do what with agenda items and comments."""

from sqlalchemy import ColumnElement, or_, true

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem, ItemState


def can_moderate(user: User | None) -> bool:
    """Facilitators and admins work the flag queue and hide or restore comments."""
    return bool(user is not None and user.is_authenticated and user.is_facilitator)


def is_private_draft(item: AgendaItem) -> bool:
    """A person's draft: unfinished, so only they, facilitators and admins see it. A draft no
    person wrote (made from a roundtable theme the room adopted, or imported) is public."""
    return item.state == ItemState.DRAFT and item.author_id is not None


def can_view_item(user: User | None, item: AgendaItem) -> bool:
    """Anyone sees an item, except someone else's private draft (facilitators and admins see
    those too)."""
    if not is_private_draft(item):
        return True
    if user is None or not user.is_authenticated:
        return False
    return user.is_facilitator or item.author_id == user.id


def viewable_items(user: User | None) -> ColumnElement[bool]:
    """`can_view_item` as a WHERE clause on AgendaItem, for lists and searches."""
    if user is not None and user.is_authenticated and user.is_facilitator:
        return true()
    public = or_(AgendaItem.state != ItemState.DRAFT, AgendaItem.author_id.is_(None))
    if user is None or not user.is_authenticated:
        return public
    return or_(public, AgendaItem.author_id == user.id)


def can_start_discussion(user: User | None, item: AgendaItem) -> bool:
    return item.state == ItemState.DRAFT and can_moderate(user)


def can_withdraw(user: User | None, item: AgendaItem) -> bool:
    """The proposer of a draft or an item in discussion, or any facilitator."""
    if user is None or not user.is_authenticated:
        return False
    if item.state not in (ItemState.DRAFT, ItemState.DISCUSSION):
        return False
    return user.is_facilitator or item.author_id == user.id
