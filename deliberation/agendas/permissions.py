"""Who may do what with agenda items and comments."""

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem, ItemState


def can_moderate(user: User | None) -> bool:
    """Facilitators and admins work the flag queue and hide or restore comments."""
    return bool(user is not None and user.is_authenticated and user.is_facilitator)


def can_start_discussion(user: User | None, item: AgendaItem) -> bool:
    return item.state == ItemState.DRAFT and can_moderate(user)


def can_withdraw(user: User | None, item: AgendaItem) -> bool:
    """The proposer of a draft or an item in discussion, or any facilitator."""
    if user is None or not user.is_authenticated:
        return False
    if item.state not in (ItemState.DRAFT, ItemState.DISCUSSION):
        return False
    return user.is_facilitator or item.author_id == user.id
