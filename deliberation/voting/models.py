"""Ballots, votes and the cast requests that make retries idempotent."""

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import Division, MemberCategory
from deliberation.agendas.models import AgendaItem
from deliberation.core.errors import IllegalTransition
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db


class BallotState(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str(BALLOT_STATE_LABELS[self])


BALLOT_STATE_LABELS = {
    BallotState.SCHEDULED: _l("Scheduled"),
    BallotState.OPEN: _l("Open"),
    BallotState.CLOSED: _l("Closed"),
}

BALLOT_TRANSITIONS: dict[BallotState, frozenset[BallotState]] = {
    BallotState.SCHEDULED: frozenset({BallotState.OPEN, BallotState.CLOSED}),
    BallotState.OPEN: frozenset({BallotState.CLOSED}),
    BallotState.CLOSED: frozenset(),
}

#: Keys of the default options; their labels are translated when shown.
DEFAULT_OPTION_KEYS = ("yes", "no", "abstain")
DEFAULT_OPTION_LABELS = {"yes": _l("Yes"), "no": _l("No"), "abstain": _l("Abstain")}

ballot_divisions = Table(
    "ballot_divisions",
    db.metadata,
    Column("ballot_id", ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True),
    Column("division_id", ForeignKey("divisions.id", ondelete="CASCADE"), primary_key=True),
)


class Ballot(db.Model):
    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One ballot per agenda item (a second one is refused by the database).
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    #: [{"key": "yes", "label": ""}, ...]; an empty label means the translated default label.
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column()
    closes_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[BallotState] = mapped_column(
        Enum(BallotState, native_enum=False, length=20), default=BallotState.SCHEDULED, index=True
    )
    #: True: every active member may vote; False: only members of `divisions`.
    open_to_all: Mapped[bool] = mapped_column(default=True)
    #: Minimum turnout, in percent of the eligible, for the result to count.
    quorum_percent: Mapped[int] = mapped_column(default=0)
    #: Adopted when yes exceeds this percentage of yes + no (custom options: of all votes).
    threshold_percent: Mapped[int] = mapped_column(default=50)
    #: Show counts by option while the ballot is open (turnout is always live).
    results_live: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    #: The tally frozen at close (see voting.queries.tally); None while open.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    item: Mapped[AgendaItem] = relationship()
    divisions: Mapped[list[Division]] = relationship(secondary=ballot_divisions)

    @property
    def option_keys(self) -> list[str]:
        return [option["key"] for option in self.options]

    @property
    def uses_default_options(self) -> bool:
        return tuple(self.option_keys) == DEFAULT_OPTION_KEYS

    def option_label(self, key: str) -> str:
        for option in self.options:
            if option["key"] == key:
                if option.get("label"):
                    return option["label"]
                return str(DEFAULT_OPTION_LABELS.get(key, key))
        return key

    def labelled_options(self) -> list[tuple[str, str]]:
        return [(key, self.option_label(key)) for key in self.option_keys]

    def accepts_votes_at(self, moment: datetime) -> bool:
        return self.state != BallotState.CLOSED and as_utc(self.opens_at) <= moment < as_utc(
            self.closes_at
        )

    def shows_results(self) -> bool:
        return self.state == BallotState.CLOSED or self.results_live

    def check_move(self, target: BallotState) -> None:
        """Raise IllegalTransition unless the ballot may move to `target` from its state."""
        if target not in BALLOT_TRANSITIONS[self.state]:
            raise IllegalTransition(
                str(
                    _l(
                        "A ballot that is %(state)s cannot become %(target)s.",
                        state=self.state.label,
                        target=target.label,
                    )
                )
            )


class VoteChannel(enum.StrEnum):
    """How a vote reached the ballot box: cast by the person online, or a paper ballot entered
    by field-office staff."""

    ONLINE = "online"
    PAPER = "paper"

    @property
    def label(self) -> str:
        return str(VOTE_CHANNEL_LABELS[self])


VOTE_CHANNEL_LABELS = {VoteChannel.ONLINE: _l("Online"), VoteChannel.PAPER: _l("Paper")}


class IdentityCheck(enum.StrEnum):
    """How field-office staff made sure a paper ballot's voter is who the account says."""

    ID_CARD = "id_card"
    KNOWN_IN_PERSON = "known_in_person"
    COUNCIL_CARD = "council_card"
    #: Anything else; the staff member's note says what.
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(IDENTITY_CHECK_LABELS[self])


IDENTITY_CHECK_LABELS = {
    IdentityCheck.ID_CARD: _l("ID card"),
    IdentityCheck.KNOWN_IN_PERSON: _l("Known in person"),
    IdentityCheck.COUNCIL_CARD: _l("Council member card"),
    IdentityCheck.OTHER: _l("Other (say how in the note)"),
}


class Vote(db.Model):
    """A person's current vote. No timestamp: nothing may link the moment of voting to a choice.

    A paper ballot is a vote like any other (same row, same UNIQUE voter), with its slip number
    and the identity check of the staff member who entered it.
    """

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("ballot_id", "voter_id"),
        UniqueConstraint("ballot_id", "receipt"),
        #: The same paper slip cannot be entered twice (NULL for online votes never clashes).
        UniqueConstraint("ballot_id", "slip_number"),
        #: Covers the tally: counts by option and category, and the join to divisions.
        Index("ix_votes_tally", "ballot_id", "choice", "voter_category", "voter_id"),
        #: Counts paper votes without reading the online ones.
        Index("ix_votes_channel", "ballot_id", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    choice: Mapped[str] = mapped_column(String(40))
    #: Random code handed to the voter; published with the choice (never the voter) after close.
    receipt: Mapped[str] = mapped_column(String(24))
    #: The voter's member category when they (last) voted, for the breakdown by category.
    voter_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30)
    )
    channel: Mapped[VoteChannel] = mapped_column(
        Enum(VoteChannel, native_enum=False, length=10),
        default=VoteChannel.ONLINE,
        server_default=VoteChannel.ONLINE.name,  # enums are stored by name
    )
    #: Paper only: the number printed on the paper ballot, as normalised on entry.
    slip_number: Mapped[str | None] = mapped_column(String(20))
    #: Paper only: the staff member who checked the voter's identity and entered the ballot.
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Paper only: how the identity was checked.
    identity_check: Mapped[IdentityCheck | None] = mapped_column(
        Enum(IdentityCheck, native_enum=False, length=20)
    )
    #: Paper only: the staff member's note (required for IdentityCheck.OTHER).
    identity_note: Mapped[str | None] = mapped_column(String(200))


class VoteCast(db.Model):
    """One accepted cast request: its client id makes a retry answer the same and change nothing.

    It holds no choice, so it never links a person to how they voted.
    """

    __tablename__ = "vote_casts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Client-generated id of the request; unique, so a repeat cannot insert twice.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The receipt this request was answered with (replaced if the person votes again later).
    receipt: Mapped[str] = mapped_column(String(24))
