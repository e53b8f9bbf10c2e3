"""Building agenda items and threads for tests, through the real services."""

import itertools

from deliberation.accounts.models import Division, User
from deliberation.agendas import services
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.extensions import db
from tests.factories import make_division

_ids = itertools.count(1)


def make_item(
    author: User,
    division: Division | None = None,
    *,
    title: str = "Longer opening hours for senior centres",
    body: str = "Open until 9 pm on weekdays.",
    state: ItemState = ItemState.DISCUSSION,
) -> AgendaItem:
    item = AgendaItem(
        division=division or make_division(), author_id=author.id, title=title, body=body
    )
    item.state = state
    db.session.add(item)
    db.session.commit()
    return item


def post(author: User, item: AgendaItem, body: str = "A comment", parent=None, client_id=None):
    comment, _created = services.post_comment(
        author, item.id, body, parent_id=parent.id if parent else None, client_id=client_id
    )
    db.session.commit()
    return comment


def client_id() -> str:
    return f"test-client-{next(_ids):06d}"
