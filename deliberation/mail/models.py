"""Outgoing mail: the outbox, each person's opt-outs per kind of mail, confirmed addresses."""

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deliberation.db import utcnow
from deliberation.extensions import db


class MailKind(enum.StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of mail, not a secret
    CONFIRM_ADDRESS = "confirm_address"
    PROPOSAL_ASSIGNED = "proposal_assigned"
    PROPOSAL_DUE_SOON = "proposal_due_soon"
    PROPOSAL_OVERDUE = "proposal_overdue"
    SESSION_REMINDER = "session_reminder"
    PROPOSAL_STEP = "proposal_step"
    PROPOSAL_DIGEST = "proposal_digest"
    #: A session or ballot the person took part in closed, and its evaluation survey is open.
    SURVEY_INVITATION = "survey_invitation"
    #: A message queued through `core.mail.send_mail` without a kind of its own.
    GENERAL = "general"

    @property
    def label(self) -> str:
        return str(MAIL_KIND_LABELS[self])

    @property
    def can_unsubscribe(self) -> bool:
        """Mail a person asked for (a reset link, a confirmation) has no unsubscribe."""
        return self not in TRANSACTIONAL_KINDS

    @property
    def needs_confirmed_address(self) -> bool:
        """Notification mail (officials', followers', reminders, surveys) goes only to an
        address its owner confirmed, so nobody can aim Madang's mail at a stranger's inbox;
        mail the person asked for (a reset, a confirmation) still goes."""
        return self.can_unsubscribe


MAIL_KIND_LABELS = {
    MailKind.PASSWORD_RESET: _l("Password reset"),
    MailKind.CONFIRM_ADDRESS: _l("Address confirmation"),
    MailKind.PROPOSAL_ASSIGNED: _l("A proposal reaches your queue"),
    MailKind.PROPOSAL_DUE_SOON: _l("A proposal's answer is due soon"),
    MailKind.PROPOSAL_OVERDUE: _l("A proposal's answer is overdue"),
    MailKind.SESSION_REMINDER: _l("Roundtable reminders"),
    MailKind.PROPOSAL_STEP: _l("Steps on proposals I follow, at once"),
    MailKind.PROPOSAL_DIGEST: _l("Daily digest of proposals I follow"),
    MailKind.SURVEY_INVITATION: _l("Evaluation surveys after a roundtable or a vote"),
    MailKind.GENERAL: _l("Other mail"),
}
TRANSACTIONAL_KINDS = frozenset(
    {MailKind.PASSWORD_RESET, MailKind.CONFIRM_ADDRESS, MailKind.GENERAL}
)


class MailStatus(enum.StrEnum):
    #: Waiting for its first or its next attempt (`next_attempt_at`).
    QUEUED = "queued"
    #: Claimed by a sender; if the sender dies, the claim lapses at `next_attempt_at`.
    SENDING = "sending"
    SENT = "sent"
    #: No MAIL_SERVER (the demo): written to the log and kept for the Outbox page.
    LOGGED = "logged"
    #: Gave up after MAIL_MAX_ATTEMPTS or a permanent refusal; an admin may queue it again.
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(MAIL_STATUS_LABELS[self])


MAIL_STATUS_LABELS = {
    MailStatus.QUEUED: _l("Queued"),
    MailStatus.SENDING: _l("Sending"),
    MailStatus.SENT: _l("Sent"),
    MailStatus.LOGGED: _l("Logged (no mail server)"),
    MailStatus.FAILED: _l("Failed"),
}


class OutboxMessage(db.Model):
    """One message to one address, written in the transaction that caused it, sent after."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MailKind] = mapped_column(Enum(MailKind, native_enum=False, length=40))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(254))
    #: The recipient's language the message is written in ("ko" or "en").
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post.
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, native_enum=False, length=20), default=MailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    #: Set for reminders: the same reminder is never queued twice (e.g. "overdue:7:3:2026-12-05").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class MailOptOut(db.Model):
    """A person does not want one kind of mail (one-click unsubscribe)."""

    __tablename__ = "mail_opt_outs"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[MailKind] = mapped_column(Enum(MailKind, native_enum=False, length=40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConfirmedAddress(db.Model):
    """The address a person proved they read; a changed address needs a new confirmation."""

    __tablename__ = "confirmed_addresses"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(254))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowerMail(enum.StrEnum):
    """How a person hears by mail of steps on the proposals they follow."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    NEVER = "never"

    @property
    def label(self) -> str:
        return str(FOLLOWER_MAIL_LABELS[self])


FOLLOWER_MAIL_LABELS = {
    FollowerMail.IMMEDIATE: _l("At once, one mail per step"),
    FollowerMail.DAILY: _l("Once a day, a digest"),
    FollowerMail.NEVER: _l("Never"),
}


class MailPreference(db.Model):
    """A person's mail settings; no row means the defaults."""

    __tablename__ = "mail_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    follower_mail: Mapped[FollowerMail] = mapped_column(
        Enum(FollowerMail, native_enum=False, length=20), default=FollowerMail.IMMEDIATE
    )


class MailCursor(db.Model):
    """How far a scan has read a growing table (e.g. the last notification mailed about)."""

    __tablename__ = "mail_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
