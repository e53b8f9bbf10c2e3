"""Agenda items and their lifecycle."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import Division, User
from deliberation.core.errors import IllegalTransition
from deliberation.db import utcnow
from deliberation.extensions import db


class ItemState(enum.StrEnum):
    DRAFT = "draft"
    DISCUSSION = "discussion"
    VOTING = "voting"
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(ITEM_STATE_LABELS[self])


ITEM_STATE_LABELS = {
    ItemState.DRAFT: _l("Draft"),
    ItemState.DISCUSSION: _l("In discussion"),
    ItemState.VOTING: _l("Voting"),
    ItemState.ADOPTED: _l("Adopted"),
    ItemState.NOT_ADOPTED: _l("Not adopted"),
    ItemState.WITHDRAWN: _l("Withdrawn"),
}

#: Which states each state may move to.
ITEM_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.DRAFT: frozenset({ItemState.DISCUSSION, ItemState.WITHDRAWN}),
    ItemState.DISCUSSION: frozenset({ItemState.VOTING, ItemState.WITHDRAWN}),
    ItemState.VOTING: frozenset({ItemState.ADOPTED, ItemState.NOT_ADOPTED}),
    ItemState.ADOPTED: frozenset(),
    ItemState.NOT_ADOPTED: frozenset(),
    ItemState.WITHDRAWN: frozenset(),
}


class AgendaItem(db.Model):
    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    #: Null for items created by an import or from a roundtable theme.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Markdown, sanitised when rendered.
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ItemState] = mapped_column(
        Enum(ItemState, native_enum=False, length=20), default=ItemState.DRAFT, index=True
    )
    #: Attribution shown on the item, e.g. the CC BY 4.0 line of an imported Pol.is conversation.
    attribution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    division: Mapped[Division] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")

    def _move(self, target: ItemState) -> None:
        if target not in ITEM_TRANSITIONS[self.state]:
            raise IllegalTransition(
                str(
                    _l(
                        "An item that is %(state)s cannot become %(target)s.",
                        state=self.state.label,
                        target=target.label,
                    )
                )
            )
        self.state = target

    def start_discussion(self) -> None:
        self._move(ItemState.DISCUSSION)

    def open_voting(self) -> None:
        self._move(ItemState.VOTING)

    def adopt(self) -> None:
        self._move(ItemState.ADOPTED)

    def reject(self) -> None:
        self._move(ItemState.NOT_ADOPTED)

    def withdraw(self) -> None:
        self._move(ItemState.WITHDRAWN)

    @property
    def accepts_comments(self) -> bool:
        return self.state in (ItemState.DRAFT, ItemState.DISCUSSION, ItemState.VOTING)
