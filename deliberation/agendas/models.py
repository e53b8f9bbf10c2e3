"""Agenda items and their lifecycle."""

import enum
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import Division, User
from deliberation.core.errors import IllegalTransition
from deliberation.db import as_utc, utcnow
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
    #: Raised by one on every change a live reader sees; reconnecting clients catch up from it.
    event_seq: Mapped[int] = mapped_column(default=0)

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

    @property
    def is_open_for_discussion(self) -> bool:
        """Comments, replies and reactions are accepted (draft, discussion, voting)."""
        return self.accepts_comments


#: How many nesting levels one page shows; deeper replies open in "continue this thread".
FRAME_DEPTH = 8
#: Width of one materialised-path segment: the comment id, zero-padded.
PATH_SEGMENT_WIDTH = 10
PATH_LENGTH = FRAME_DEPTH * (PATH_SEGMENT_WIDTH + 1)
#: The longest comment body accepted.
COMMENT_MAX_LENGTH = 10_000
#: Authors may edit for this many seconds after posting.
EDIT_WINDOW_SECONDS = 15 * 60


class ReactionValue(enum.StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"  # noqa: S105 - a reaction, not a password

    @property
    def label(self) -> str:
        return str(REACTION_LABELS[self])

    @property
    def score(self) -> int:
        """The number the consensus analysis uses: agree 1, disagree -1, pass 0."""
        return {"agree": 1, "disagree": -1, "pass": 0}[self.value]


REACTION_LABELS = {
    ReactionValue.AGREE: _l("Agree"),
    ReactionValue.DISAGREE: _l("Disagree"),
    ReactionValue.PASS: _l("Pass"),
}


class Comment(db.Model):
    """One comment of an item's discussion: an adjacency list plus a bounded materialised path.

    Nesting is unlimited. Comments are grouped in *frames* of FRAME_DEPTH levels: a frame is
    the top of the thread (``anchor_id`` null) or the replies below a comment at the last level
    of the frame above (``anchor_id`` = that comment). ``path`` is the chain of zero-padded ids
    from the frame's first level down to the comment, so it never exceeds FRAME_DEPTH segments,
    and ordering by it gives the thread depth-first and oldest first. ``branch_id`` is the
    comment's ancestor on the frame's first level, so a page fetches each branch with one
    index range.
    """

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_frame_path", "item_id", "anchor_id", "path"),
        Index("ix_comments_branch_path", "branch_id", "path"),
        Index("ix_comments_item_changed_seq", "item_id", "changed_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    #: The comment whose replies start this comment's frame; null on the top frame.
    anchor_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    #: The ancestor (or the comment itself) on the first level of its frame.
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    #: Zero-padded ids from the frame's first level down to this comment, '/'-separated.
    #: Bytewise ("C") collation on PostgreSQL, where locale collations may skip the '/'.
    path: Mapped[str] = mapped_column(
        String(PATH_LENGTH).with_variant(String(PATH_LENGTH, collation="C"), "postgresql"),
        default="",
    )
    #: Nesting level in the whole thread: 0 for a top-level comment.
    depth: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Markdown as written; emptied when the author deletes the comment.
    body: Mapped[str] = mapped_column(Text, default="")
    #: The sanitised HTML of ``body`` (render_markdown), stored so pages need not re-render.
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: The id the client generated for the post: a retried post finds this row instead.
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()
    hidden_at: Mapped[datetime | None] = mapped_column()
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Shown publicly: "Hidden by a moderator: <reason>".
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    #: Direct replies, kept up to date by the services.
    reply_count: Mapped[int] = mapped_column(default=0)
    agree_count: Mapped[int] = mapped_column(default=0)
    disagree_count: Mapped[int] = mapped_column(default=0)
    pass_count: Mapped[int] = mapped_column(default=0)
    #: The item's event sequence number of the last change: reconnecting clients catch up by it.
    changed_seq: Mapped[int] = mapped_column(default=0)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="raise")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_visible(self) -> bool:
        """Neither deleted by its author nor hidden by a moderator."""
        return not self.is_deleted and not self.is_hidden

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    @property
    def frame_level(self) -> int:
        """0 .. FRAME_DEPTH - 1: the indentation level within the page that shows it."""
        return self.depth % FRAME_DEPTH

    @property
    def continues_below(self) -> bool:
        """Its replies open on a "continue this thread" page (the frame's last level)."""
        return self.frame_level == FRAME_DEPTH - 1 and self.reply_count > 0

    def editable_until(self) -> datetime:
        return as_utc(self.created_at) + timedelta(seconds=EDIT_WINDOW_SECONDS)

    def counts(self) -> dict[str, int]:
        return {
            "agree": self.agree_count,
            "disagree": self.disagree_count,
            "pass": self.pass_count,
        }


class Reaction(db.Model):
    """A person's latest reaction to a comment; changing it overwrites the row."""

    __tablename__ = "comment_reactions"
    __table_args__ = (
        UniqueConstraint("user_id", "comment_id"),
        Index("ix_comment_reactions_item_comment", "item_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Copied from the comment so the consensus matrix reads one index range.
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    value: Mapped[ReactionValue] = mapped_column(Enum(ReactionValue, native_enum=False, length=10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    HIDDEN = "hidden"
    DISMISSED = "dismissed"


class CommentFlag(db.Model):
    """A member's report that a comment breaks the rules; facilitators work the open ones."""

    __tablename__ = "comment_flags"
    __table_args__ = (UniqueConstraint("comment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[FlagStatus] = mapped_column(
        Enum(FlagStatus, native_enum=False, length=12), default=FlagStatus.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    comment: Mapped[Comment] = relationship(lazy="joined")
