"""Proposals in the officials' queue, their public timeline, and in-app notifications."""

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.agendas.models import AgendaItem, FlagStatus
from deliberation.core.errors import IllegalTransition
from deliberation.db import as_utc, utcnow
from deliberation.evaluations.models import Survey
from deliberation.extensions import db


class ProposalState(enum.StrEnum):
    QUEUED = "queued"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    MONITORING = "monitoring"

    @property
    def label(self) -> str:
        return str(PROPOSAL_STATE_LABELS[self])


PROPOSAL_STATE_LABELS = {
    ProposalState.QUEUED: _l("Queued"),
    ProposalState.UNDER_REVIEW: _l("Under review"),
    ProposalState.ACCEPTED: _l("Accepted"),
    ProposalState.PARTIALLY_ACCEPTED: _l("Partially accepted"),
    ProposalState.DECLINED: _l("Declined"),
    ProposalState.IN_PROGRESS: _l("In progress"),
    ProposalState.IMPLEMENTED: _l("Implemented"),
    ProposalState.MONITORING: _l("Monitoring"),
}

#: The decisions an official's response can carry.
RESPONSE_STATES = (
    ProposalState.ACCEPTED,
    ProposalState.PARTIALLY_ACCEPTED,
    ProposalState.DECLINED,
)
#: States awaiting the officials' answer: these count towards the due date.
AWAITING_RESPONSE = (ProposalState.QUEUED, ProposalState.UNDER_REVIEW)

PROPOSAL_TRANSITIONS: dict[ProposalState, frozenset[ProposalState]] = {
    ProposalState.QUEUED: frozenset({ProposalState.UNDER_REVIEW}),
    ProposalState.UNDER_REVIEW: frozenset(RESPONSE_STATES),
    ProposalState.ACCEPTED: frozenset({ProposalState.IN_PROGRESS}),
    ProposalState.PARTIALLY_ACCEPTED: frozenset({ProposalState.IN_PROGRESS}),
    ProposalState.DECLINED: frozenset(),
    ProposalState.IN_PROGRESS: frozenset({ProposalState.IMPLEMENTED}),
    ProposalState.IMPLEMENTED: frozenset({ProposalState.MONITORING}),
    ProposalState.MONITORING: frozenset(),
}
#: States at which citizens judge the implementation.
IMPLEMENTATION_DONE = (ProposalState.IMPLEMENTED, ProposalState.MONITORING)
#: States in which an official may post a progress note without changing the state.
PROGRESS_NOTE_STATES = (
    ProposalState.IN_PROGRESS,
    ProposalState.IMPLEMENTED,
    ProposalState.MONITORING,
)


class Proposal(db.Model):
    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The adopted agenda item; unique, so one item never enters the queue twice.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    #: Where it came from, e.g. "item" or "roundtable-theme", with an id for that source.
    source_kind: Mapped[str] = mapped_column(String(40), default="item")
    source_ref: Mapped[str | None] = mapped_column(String(64))
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Markdown, sanitised when rendered.
    summary: Mapped[str] = mapped_column(Text, default="")
    #: Frozen at creation: {"ballot_id", "tally", "discussion", ...}; never updated.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[ProposalState] = mapped_column(
        Enum(ProposalState, native_enum=False, length=30), default=ProposalState.QUEUED, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(index=True)
    responded_at: Mapped[datetime | None] = mapped_column()
    #: The official's public written answer (Markdown).
    response: Mapped[str] = mapped_column(Text, default="")
    #: Set while most judgements of the implementation say "not satisfied" (see judgements.py).
    contested_at: Mapped[datetime | None] = mapped_column()
    #: The new agenda item a facilitator opened when sending a contested proposal back.
    sent_back_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id"), unique=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    item: Mapped[AgendaItem | None] = relationship(lazy="joined", foreign_keys=[item_id])
    sent_back_item: Mapped[AgendaItem | None] = relationship(foreign_keys=[sent_back_item_id])
    division: Mapped[Division | None] = relationship(lazy="joined")
    events: Mapped[list["ProposalEvent"]] = relationship(
        back_populates="proposal", order_by="ProposalEvent.id", cascade="all, delete-orphan"
    )

    @property
    def awaiting_response(self) -> bool:
        return self.state in AWAITING_RESPONSE

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.awaiting_response and (now or utcnow()) > as_utc(self.due_at)

    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    @property
    def contested(self) -> bool:
        return self.contested_at is not None

    def open_judgement_steps(self) -> list["JudgementStep"]:
        """The steps citizens may judge now: the answer once given, the implementation once done."""
        steps = []
        if self.responded_at is not None:
            steps.append(JudgementStep.ANSWER)
        if self.state in IMPLEMENTATION_DONE:
            steps.append(JudgementStep.IMPLEMENTATION)
        return steps

    def move_to(self, target: ProposalState) -> None:
        if target not in PROPOSAL_TRANSITIONS[self.state]:
            raise IllegalTransition(
                str(
                    _l(
                        "A proposal that is %(state)s cannot become %(target)s.",
                        state=self.state.label,
                        target=target.label,
                    )
                )
            )
        self.state = target


class EventKind(enum.StrEnum):
    CREATED = "created"
    REVIEW_STARTED = "review_started"
    RESPONDED = "responded"
    PROGRESS = "progress"
    #: A facilitator sent the contested proposal back to the agenda as a new item.
    SENT_BACK = "sent_back"

    @property
    def label(self) -> str:
        return str(EVENT_KIND_LABELS[self])


EVENT_KIND_LABELS = {
    EventKind.CREATED: _l("Entered the officials' queue"),
    EventKind.REVIEW_STARTED: _l("Review started"),
    EventKind.RESPONDED: _l("Officials responded"),
    EventKind.PROGRESS: _l("Progress update"),
    EventKind.SENT_BACK: _l("Sent back to the agenda"),
}


class ProposalEvent(db.Model):
    """One step on a proposal's public timeline."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(Enum(EventKind, native_enum=False, length=20))
    #: The proposal's state after this step.
    state: Mapped[ProposalState] = mapped_column(Enum(ProposalState, native_enum=False, length=30))
    #: Public text (Markdown): the response or the progress note.
    text: Mapped[str] = mapped_column(Text, default="")
    #: The official who took the step; null for the system.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship(lazy="joined")


class Notification(db.Model):
    """An in-app notice to one person: a step on a proposal they follow, or an evaluation
    survey of a session or ballot they took part in (never about anyone's vote)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        UniqueConstraint("user_id", "survey_id"),
        CheckConstraint("(event_id IS NULL) != (survey_id IS NULL)", name="one_subject"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The timeline step this notice is about; unique per person, so nobody is told twice.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_events.id", ondelete="CASCADE")
    )
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    #: Or the survey offered at a close; unique per person too.
    survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation_surveys.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()

    event: Mapped[ProposalEvent | None] = relationship(lazy="joined")
    proposal: Mapped[Proposal | None] = relationship(lazy="joined")
    survey: Mapped[Survey | None] = relationship(lazy="joined")


class ProposalFollow(db.Model):
    """A person's own choice about one proposal: to follow it, or to stop following it.

    Who discussed or voted on the proposal's item follows it without choosing; this choice,
    once made, outweighs that (see queries.follower_ids)."""

    __tablename__ = "proposal_follows"
    #: One choice per person per proposal: choosing again updates the row.
    __table_args__ = (UniqueConstraint("user_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    #: True: told of each step; False: chose to stop, even having discussed or voted.
    following: Mapped[bool] = mapped_column()
    #: When the person last made this choice.
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)


class JudgementStep(enum.StrEnum):
    """What citizens judge: the official's answer, or the implementation."""

    ANSWER = "answer"
    IMPLEMENTATION = "implementation"

    @property
    def label(self) -> str:
        return str(JUDGEMENT_STEP_LABELS[self])


JUDGEMENT_STEP_LABELS = {
    JudgementStep.ANSWER: _l("The officials' answer"),
    JudgementStep.IMPLEMENTATION: _l("The implementation"),
}


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"
    PARTLY = "partly"
    NOT_SATISFIED = "not_satisfied"

    @property
    def label(self) -> str:
        return str(SATISFACTION_LABELS[self])


SATISFACTION_LABELS = {
    Satisfaction.SATISFIED: _l("Satisfied"),
    Satisfaction.PARTLY: _l("Partly satisfied"),
    Satisfaction.NOT_SATISFIED: _l("Not satisfied"),
}


class Judgement(db.Model):
    """One person's judgement of whether a step of a proposal addresses it; changeable."""

    __tablename__ = "proposal_judgements"
    #: One judgement per person per step: changing it updates the row.
    __table_args__ = (UniqueConstraint("proposal_id", "step", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[JudgementStep] = mapped_column(Enum(JudgementStep, native_enum=False, length=20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[Satisfaction] = mapped_column(Enum(Satisfaction, native_enum=False, length=20))
    #: The person's member category when judging: results by category use it.
    member_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30)
    )
    #: Optional public comment (plain text); shown with the author's name, never with the value.
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Set when a facilitator hides the comment (the judgement itself still counts).
    comment_hidden_at: Mapped[datetime | None] = mapped_column()
    comment_hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The public reason shown in place of a hidden comment.
    comment_hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])
    proposal: Mapped[Proposal] = relationship()

    @property
    def comment_is_hidden(self) -> bool:
        return self.comment_hidden_at is not None


#: Replies nest at most this deep under a judgement's comment (0 = a direct reply); a reply
#: to a reply on the deepest level joins that level, so the thread stays readable on a phone.
REPLY_MAX_DEPTH = 4


class JudgementReply(db.Model):
    """A logged-in person's reply to a judgement's comment, or to another reply."""

    __tablename__ = "judgement_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    judgement_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_judgements.id", ondelete="CASCADE"), index=True
    )
    #: The reply answered, or none for a direct reply to the judgement's comment.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("judgement_replies.id", ondelete="CASCADE"), index=True
    )
    #: The direct reply this one descends from (itself for a direct reply): pages of a thread
    #: are pages of direct replies, each with everything below it.
    root_id: Mapped[int | None] = mapped_column(index=True)
    depth: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Plain text, shown as typed.
    body: Mapped[str] = mapped_column(Text, default="")
    #: The browser's id of the submission: a resubmitted form posts only once.
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()
    hidden_at: Mapped[datetime | None] = mapped_column()
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The public reason shown in place of a hidden reply.
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="joined")
    judgement: Mapped[Judgement] = relationship(lazy="joined")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class JudgementFlag(db.Model):
    """A person reports a judgement's comment or a reply to the facilitators; once each."""

    __tablename__ = "judgement_flags"
    __table_args__ = (
        UniqueConstraint("judgement_id", "user_id"),
        UniqueConstraint("reply_id", "user_id"),
        #: A flag is about exactly one thing: a judgement's comment or a reply.
        CheckConstraint("(judgement_id IS NULL) <> (reply_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    judgement_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_judgements.id", ondelete="CASCADE"), index=True
    )
    reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("judgement_replies.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[FlagStatus] = mapped_column(
        Enum(FlagStatus, native_enum=False, length=20), default=FlagStatus.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
