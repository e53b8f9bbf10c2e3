"""Roundtable sessions, their tables and participants, phases, ideas, themes and live polls."""

import enum
import secrets
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _pl
from sqlalchemy import (
    JSON,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.core.errors import DomainError, IllegalTransition
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db


class SessionState(enum.StrEnum):
    SCHEDULED = "scheduled"
    LOBBY = "lobby"
    RUNNING = "running"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str(SESSION_STATE_LABELS[self])


SESSION_STATE_LABELS = {
    SessionState.SCHEDULED: _l("Scheduled"),
    SessionState.LOBBY: _l("Lobby open"),
    SessionState.RUNNING: _l("Running"),
    # its own context: a ballot "Closed" is 마감됨, a session that ended 종료
    SessionState.CLOSED: _pl("session state", "Closed"),
}


class Phase(enum.StrEnum):
    BRIEFING = "briefing"
    DISCUSSION = "discussion"
    SUBMISSIONS = "submissions"
    SYNTHESIS = "synthesis"
    POLL = "poll"
    RESULTS = "results"

    @property
    def label(self) -> str:
        return str(PHASE_LABELS[self])


PHASE_LABELS = {
    Phase.BRIEFING: _l("Briefing"),
    Phase.DISCUSSION: _l("Table discussion"),
    Phase.SUBMISSIONS: _l("Table submissions"),
    Phase.SYNTHESIS: _l("Theme synthesis"),
    Phase.POLL: _l("Room poll"),
    Phase.RESULTS: _l("Results"),
}

#: The order "end phase" follows; the lead may also jump back to repeat a round.
PHASE_ORDER = list(Phase)
PHASE_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.BRIEFING: frozenset({Phase.DISCUSSION}),
    Phase.DISCUSSION: frozenset({Phase.SUBMISSIONS}),
    Phase.SUBMISSIONS: frozenset({Phase.SYNTHESIS, Phase.DISCUSSION}),
    Phase.SYNTHESIS: frozenset({Phase.POLL, Phase.DISCUSSION}),
    Phase.POLL: frozenset({Phase.RESULTS, Phase.DISCUSSION, Phase.SYNTHESIS}),
    Phase.RESULTS: frozenset({Phase.DISCUSSION, Phase.POLL, Phase.SYNTHESIS}),
}


class ParticipantRole(enum.StrEnum):
    PARTICIPANT = "participant"
    TABLE_FACILITATOR = "table_facilitator"
    THEME_TEAM = "theme_team"

    @property
    def label(self) -> str:
        return str(PARTICIPANT_ROLE_LABELS[self])


PARTICIPANT_ROLE_LABELS = {
    ParticipantRole.PARTICIPANT: _l("Participant"),
    ParticipantRole.TABLE_FACILITATOR: _l("Table facilitator"),
    ParticipantRole.THEME_TEAM: _l("Theme team"),
}


class TableKind(enum.StrEnum):
    """Where a table sits: online, in the hall, or a mix (a hall table with people online)."""

    ONLINE = "online"
    HALL = "hall"
    MIXED = "mixed"

    @property
    def label(self) -> str:
        return str(TABLE_KIND_LABELS[self])


TABLE_KIND_LABELS = {
    TableKind.ONLINE: _l("Online"),
    TableKind.HALL: _l("In the hall"),
    TableKind.MIXED: _l("Mixed (hall and online)"),
}


class TakesPart(enum.StrEnum):
    """How a participant takes part: on their own device online, in the hall, or on paper
    (entered by a table facilitator; no login)."""

    ONLINE = "online"
    HALL = "hall"
    PAPER = "paper"

    @property
    def label(self) -> str:
        return str(TAKES_PART_LABELS[self])

    def seats_at(self, kind: "TableKind") -> bool:
        """Hall and paper people sit at hall or mixed tables, online people at online or
        mixed ones."""
        if kind == TableKind.MIXED:
            return True
        return (kind == TableKind.ONLINE) == (self == TakesPart.ONLINE)


TAKES_PART_LABELS = {
    TakesPart.ONLINE: _l("Online"),
    TakesPart.HALL: _l("In the hall"),
    TakesPart.PAPER: _l("Paper"),
}


class PollKind(enum.StrEnum):
    CHOOSE_ONE = "choose_one"
    AGREE = "agree"
    QUESTION = "question"

    @property
    def label(self) -> str:
        return str(POLL_KIND_LABELS[self])


POLL_KIND_LABELS = {
    PollKind.CHOOSE_ONE: _l("Choose one theme"),
    PollKind.AGREE: _l("Agree, disagree or pass on each theme"),
    PollKind.QUESTION: _l("A question with options"),
}

STANCES = ("agree", "disagree", "pass")


class PollState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ThemeDestination(enum.StrEnum):
    """Where a theme that passes the session's threshold goes when the session closes."""

    AGENDA_ITEM = "agenda_item"
    PROPOSAL = "proposal"

    @property
    def label(self) -> str:
        return str(THEME_DESTINATION_LABELS[self])


THEME_DESTINATION_LABELS = {
    ThemeDestination.AGENDA_ITEM: _l("An agenda item in the session's division"),
    ThemeDestination.PROPOSAL: _l("Straight to the officials' queue as a proposal"),
}


class PassRule(enum.StrEnum):
    """How a theme's share of the votes is held against the session's threshold."""

    AT_LEAST = "at_least"
    MORE_THAN = "more_than"

    @property
    def label(self) -> str:
        return str(PASS_RULE_LABELS[self])

    def words(self, threshold: int | str) -> str:
        """The rule in words for `threshold` ("at least 50 %"); pages that word a live tally
        get it with "{n}" for the threshold, so no server sends these words to the room."""
        if self == PassRule.MORE_THAN:
            return str(_l("more than %(n)s%%", n=threshold))
        return str(_l("at least %(n)s%%", n=threshold))


PASS_RULE_LABELS = {
    PassRule.AT_LEAST: _l("At least the threshold (at 50: 4 votes of 8 pass)"),
    PassRule.MORE_THAN: _l("More than the threshold (at 50: 4 votes of 8 fail)"),
}


session_agenda_items = Table(
    "roundtable_session_agenda_items",
    db.metadata,
    Column(
        "session_id", ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    # Indexed on its own too: an item's page and summary look sessions up by the item.
    Column(
        "agenda_item_id",
        ForeignKey("agenda_items.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


#: The longest a phase's (or a poll's) timer runs.
MAX_PHASE_SECONDS = 4 * 3600


def timer_duration(seconds: int | None) -> int | None:
    """A timer's length as asked for (None or 0: no timer); refused outside 1 s to 4 hours."""
    if seconds is None or seconds == 0:
        return None
    if not 0 < seconds <= MAX_PHASE_SECONDS:
        message = _l("A phase lasts between 1 second and 4 hours.")
        raise DomainError(str(message), code="bad_duration")
    return seconds


def new_projector_token() -> str:
    return secrets.token_urlsafe(18)


class RoundtableSession(db.Model):
    __tablename__ = "roundtable_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Markdown, sanitised when rendered.
    briefing: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    capacity: Mapped[int] = mapped_column(default=5000)
    table_size: Mapped[int] = mapped_column(default=10)
    #: Ideas a table may record per round.
    ideas_per_round: Mapped[int] = mapped_column(default=5)
    #: Share (percent) of a theme's votes a theme needs to become an agenda item or proposal.
    threshold_percent: Mapped[int] = mapped_column(default=50)
    #: Whether a share equal to the threshold passes ("at least") or not ("more than").
    pass_rule: Mapped[PassRule] = mapped_column(
        Enum(PassRule, native_enum=False, length=20),
        default=PassRule.AT_LEAST,
        server_default=PassRule.AT_LEAST.name,
    )
    #: Where passing themes go at close: agenda items (default) or the officials' queue.
    #: (The server default is the enum's name: that is what SQLAlchemy stores.)
    theme_destination: Mapped[ThemeDestination] = mapped_column(
        Enum(ThemeDestination, native_enum=False, length=20),
        default=ThemeDestination.AGENDA_ITEM,
        server_default=ThemeDestination.AGENDA_ITEM.name,
    )
    state: Mapped[SessionState] = mapped_column(
        Enum(SessionState, native_enum=False, length=20), default=SessionState.SCHEDULED, index=True
    )
    phase: Mapped[Phase | None] = mapped_column(Enum(Phase, native_enum=False, length=20))
    #: Round of discussion -> poll; the lead may repeat rounds.
    round_no: Mapped[int] = mapped_column(default=1)
    #: When the current phase's timer runs out (null: no timer, or paused).
    phase_ends_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Seconds left when the lead paused the timer.
    paused_remaining_s: Mapped[int | None] = mapped_column()
    #: Bumped on every change that clients must see; snapshots carry it.
    seq: Mapped[int] = mapped_column(default=0)
    seated: Mapped[bool] = mapped_column(default=False)
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The secret in the projector view's link.
    projector_token: Mapped[str] = mapped_column(String(40), default=new_projector_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()

    # Loaded only when a page needs them: sockets fetch the session on every event.
    division: Mapped[Division] = relationship()
    lead: Mapped[User] = relationship()
    agenda_items: Mapped[list[Any]] = relationship("AgendaItem", secondary=session_agenda_items)

    # --- the pass rule -------------------------------------------------------------------
    def passes(self, count: int, total: int) -> bool:
        """Whether `count` votes of `total` pass this session's threshold under its rule: the
        one rule that adoption at close, the results page, the console and the projector use.
        Whole numbers only, so 4 of 8 against 50 % is exactly a tie (no rounding)."""
        if total <= 0:
            return False
        if self.pass_rule == PassRule.MORE_THAN:
            return count * 100 > self.threshold_percent * total
        return count * 100 >= self.threshold_percent * total

    def rule_text(self) -> str:
        """The rule in words, as people read it ("at least 50 %", "more than 50 %")."""
        return self.pass_rule.words(self.threshold_percent)

    # --- lifecycle ---------------------------------------------------------------------
    def _require(self, *states: SessionState) -> None:
        if self.state not in states:
            label = self.state.label
            message = _l("The session is %(state)s: that is not possible now.", state=label)
            raise IllegalTransition(str(message), code="wrong_state")

    def open_lobby(self) -> None:
        self._require(SessionState.SCHEDULED)
        self.state = SessionState.LOBBY

    def start(self) -> None:
        self._require(SessionState.LOBBY)
        self.state = SessionState.RUNNING
        self.phase = Phase.BRIEFING

    def close(self) -> None:
        self._require(SessionState.LOBBY, SessionState.RUNNING)
        self.state = SessionState.CLOSED
        self.phase = None
        self.phase_ends_at = None
        self.paused_remaining_s = None
        self.closed_at = utcnow()

    def move_to_phase(self, target: Phase) -> None:
        self._require(SessionState.RUNNING)
        if self.phase is None or target not in PHASE_TRANSITIONS[self.phase]:
            raise IllegalTransition(
                str(
                    _l(
                        "From %(phase)s the session cannot move to %(target)s.",
                        phase=self.phase.label if self.phase else "-",
                        target=target.label,
                    )
                )
            )
        if target == Phase.DISCUSSION and self.phase != Phase.BRIEFING:
            self.round_no += 1
        self.phase = target
        self.phase_ends_at = None
        self.paused_remaining_s = None

    def next_phase(self) -> Phase | None:
        """The phase after this one in the usual order (None after results)."""
        if self.phase is None or self.phase == Phase.RESULTS:
            return None
        return PHASE_ORDER[PHASE_ORDER.index(self.phase) + 1]

    def advance_seq(self) -> int:
        """Advance the sequence number: clients compare it to notice missed events."""
        self.seq = (self.seq or 0) + 1
        return self.seq

    def set_timer(self, seconds: int | None) -> None:
        self.paused_remaining_s = None
        self.phase_ends_at = utcnow() + timedelta(seconds=seconds) if seconds else None

    def remaining_s(self) -> int | None:
        if self.paused_remaining_s is not None:
            return self.paused_remaining_s
        if self.phase_ends_at is None:
            return None
        left = (as_utc(self.phase_ends_at) - utcnow()).total_seconds()
        return max(0, int(round(left)))

    @property
    def is_open_for_joining(self) -> bool:
        return self.state in (SessionState.LOBBY, SessionState.RUNNING)


class RoundtableTable(db.Model):
    __tablename__ = "roundtable_tables"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    #: Online, in the hall or mixed: seating keeps hall people at hall (or mixed) tables.
    kind: Mapped[TableKind] = mapped_column(
        Enum(TableKind, native_enum=False, length=10),
        default=TableKind.ONLINE,
        server_default=TableKind.ONLINE.name,
    )
    #: Set when someone at the table asks for help; the lead clears it.
    help_requested_at: Mapped[datetime | None] = mapped_column()


#: The rows the one-facilitator-a-table index covers (roles are stored by their enum names).
ONE_FACILITATOR_WHERE = "role = 'TABLE_FACILITATOR' AND table_id IS NOT NULL"


class Participant(db.Model):
    """A person registered for a session; seated at a table once the room is seated.

    A paper participant (`takes_part` paper) was entered by a table facilitator: no login
    (`user_id` null, `display_name` as written), or a member's account without a device.
    UNIQUE(session, user) still holds one entry per account: NULLs never collide.
    """

    __tablename__ = "roundtable_participants"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id"),
        UniqueConstraint("session_id", "client_id"),
        # One table facilitator a table: the services say so in words, the database decides.
        Index(
            "uq_roundtable_participants_one_facilitator_a_table",
            "table_id",
            unique=True,
            sqlite_where=text(ONE_FACILITATOR_WHERE),
            postgresql_where=text(ONE_FACILITATOR_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    #: Null for a paper participant entered without an account.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: How they take part: online, in the hall (own device) or on paper (entered for them).
    takes_part: Mapped[TakesPart] = mapped_column(
        Enum(TakesPart, native_enum=False, length=10),
        default=TakesPart.ONLINE,
        server_default=TakesPart.ONLINE.name,
    )
    #: A paper participant's name as the facilitator wrote it ("" for people with a login).
    display_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # Who entered a paper participant is in the audit log (roundtable.paper_register): a
    # second foreign key to users here would make every join(User) from this table ambiguous.
    #: The client id of a paper registration: a resend (after a reconnect) gets the same answer.
    client_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[ParticipantRole] = mapped_column(
        Enum(ParticipantRole, native_enum=False, length=20), default=ParticipantRole.PARTICIPANT
    )
    table_id: Mapped[int | None] = mapped_column(
        ForeignKey("roundtable_tables.id", ondelete="SET NULL"), index=True
    )
    #: Member category at registration: tallies by category use it.
    member_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30), default=MemberCategory.CITIZEN
    )
    #: The person's first division (seating balances on it); null when they have none.
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
    table: Mapped[RoundtableTable | None] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        """The name shown for this person: their account's, or the one written on paper."""
        return self.user.display_name if self.user is not None else self.display_name

    @property
    def may_vote(self) -> bool:
        """Participants vote; facilitators and the theme team stay neutral (see `polls.may_vote`
        for the whole rule: a participant votes once seated)."""
        return self.role == ParticipantRole.PARTICIPANT


class ChatMessage(db.Model):
    __tablename__ = "roundtable_chat_messages"
    __table_args__ = (UniqueConstraint("author_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_tables.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    #: Plain text as typed (core.sanitize.plain_text); escaped where it is shown.
    body: Mapped[str] = mapped_column(String(1000))
    #: Staff messages: the lead's broadcast to every table.
    is_broadcast: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Broadcast(db.Model):
    """The lead's message to every table, kept so the console shows what was said after a
    reload (and the record outlives the live event)."""

    __tablename__ = "roundtable_broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Plain text as typed (core.sanitize.plain_text); escaped where it is shown.
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Theme(db.Model):
    __tablename__ = "roundtable_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    round_no: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(default=False)
    #: When merged into another theme, the survivor.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("roundtable_themes.id"))
    #: The agenda item this theme became after passing the threshold.
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    #: The proposal this theme became (sessions that send passing themes to the queue).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ideas: Mapped[list["Idea"]] = relationship(
        back_populates="theme", lazy="selectin", order_by="Idea.id"
    )


class Idea(db.Model):
    __tablename__ = "roundtable_ideas"
    __table_args__ = (UniqueConstraint("table_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_tables.id", ondelete="CASCADE"), index=True
    )
    round_no: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: A paper participant's idea: whose it is (the author is the facilitator, its witness).
    for_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("roundtable_participants.id", ondelete="SET NULL")
    )
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    submitted_at: Mapped[datetime | None] = mapped_column()
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("roundtable_themes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    table: Mapped[RoundtableTable] = relationship(lazy="joined")
    theme: Mapped[Theme | None] = relationship(back_populates="ideas")


class Poll(db.Model):
    __tablename__ = "roundtable_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), index=True
    )
    round_no: Mapped[int] = mapped_column(default=1)
    kind: Mapped[PollKind] = mapped_column(Enum(PollKind, native_enum=False, length=20))
    question: Mapped[str] = mapped_column(String(300))
    state: Mapped[PollState] = mapped_column(
        Enum(PollState, native_enum=False, length=10), default=PollState.OPEN, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Null: open until the lead closes it.
    closes_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column()

    options: Mapped[list["PollOption"]] = relationship(
        lazy="selectin", order_by="PollOption.position", cascade="all, delete-orphan"
    )

    def close(self) -> None:
        if self.state != PollState.OPEN:
            raise IllegalTransition(str(_l("This poll is already closed.")), code="poll_closed")
        self.state = PollState.CLOSED
        self.closed_at = utcnow()


class PollOption(db.Model):
    __tablename__ = "roundtable_poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_polls.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(200))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("roundtable_themes.id"))


class PollVote(db.Model):
    """One row per participant per poll (UNIQUE): changing a vote updates the row. A paper
    vote carries its slip's number, once per poll (UNIQUE; online votes have none)."""

    __tablename__ = "roundtable_poll_votes"
    __table_args__ = (
        UniqueConstraint("poll_id", "participant_id"),
        UniqueConstraint("poll_id", "slip_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("roundtable_polls.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("roundtable_participants.id", ondelete="CASCADE")
    )
    #: The client-generated id of the latest cast or change (repeats get the same answer).
    client_id: Mapped[str] = mapped_column(String(64))
    #: Choose-one and question polls: the chosen option.
    option_id: Mapped[int | None] = mapped_column(ForeignKey("roundtable_poll_options.id"))
    #: Agree polls: {"<option id>": "agree" | "disagree" | "pass"}.
    stances: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Copied from the participant so tallies by category need no join.
    member_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30)
    )
    #: A paper vote's slip number as printed (`T07-013`); null for votes cast online.
    slip_no: Mapped[str | None] = mapped_column(String(16))
    #: Who entered a paper vote (the table facilitator, lead or field-office staff).
    witness_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- idempotent inserts: the UNIQUE constraints above decide ------------------------------


def insert_ignoring_duplicates(model: Any = None) -> Any:
    """INSERT that skips a row breaking a UNIQUE constraint instead of failing (default: votes,
    UNIQUE(poll, participant)); no savepoint needed, the database decides in one statement."""
    model = PollVote if model is None else model
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    # RETURNING tells whether the row went in: on PostgreSQL rowcount is -1 once SQLAlchemy
    # adds an implicit RETURNING, which made every first insert look like a repeat.
    return insert(model).on_conflict_do_nothing().returning(model.__table__.c.id)


def rows_inserted(result: Any) -> int:
    """How many rows an `insert_ignoring_duplicates` statement really inserted."""
    return len(result.all())


Row = TypeVar("Row", "Poll", "RoundtableTable")


def row_of_session(model: type[Row], session_id: int, row_id: int, missing: DomainError) -> Row:
    """The `model` row `row_id` if it belongs to session `session_id`, else raise `missing`:
    a client names another session's tables or polls as easily as its own."""
    row = db.session.get(model, row_id)
    if row is None or row.session_id != session_id:
        raise missing
    return row
