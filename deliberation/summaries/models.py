"""Imported Pol.is conversations and cached consensus summaries."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deliberation.db import utcnow
from deliberation.extensions import db


class PolisImport(db.Model):
    """One Pol.is open-data export loaded as an agenda item; the digest makes re-imports no-ops."""

    __tablename__ = "polis_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="CASCADE"), unique=True
    )
    #: SHA-256 of the export's files: the same export is recognised and not imported twice.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    source_url: Mapped[str] = mapped_column(String(500), default="")
    folder_name: Mapped[str] = mapped_column(String(200), default="")
    participants: Mapped[int] = mapped_column(default=0)
    votes: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportedParticipant(db.Model):
    """The anonymous account standing for one Pol.is participant of an import."""

    __tablename__ = "polis_imported_participants"
    __table_args__ = (UniqueConstraint("import_id", "polis_participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("polis_imports.id", ondelete="CASCADE"))
    polis_participant_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)


class ImportedComment(db.Model):
    """Which Madang comment holds which Pol.is comment of an import."""

    __tablename__ = "polis_imported_comments"
    __table_args__ = (UniqueConstraint("import_id", "polis_comment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("polis_imports.id", ondelete="CASCADE"))
    polis_comment_id: Mapped[int] = mapped_column()
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), unique=True
    )


class SummaryCache(db.Model):
    """The last computed consensus summary of an item, valid while its fingerprint holds."""

    __tablename__ = "summary_caches"
    __table_args__ = (Index("ix_summary_caches_computed_at", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="CASCADE"), unique=True
    )
    #: Reactions and moderation state the summary was computed from (see queries.fingerprint).
    fingerprint: Mapped[str] = mapped_column(String(200))
    #: The summary as JSON (the same document `consensus-report --format json` prints).
    data: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    compute_seconds: Mapped[float] = mapped_column(default=0.0)
