"""Staffing a roundtable: the lead's changes to many people at once (roles, moves), the CSV
roster import (email → role, table) and merging a table that has no facilitator."""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from deliberation.accounts.models import User
from deliberation.core import audit
from deliberation.core.errors import DomainError, NotFound
from deliberation.core.realtime import emit_after_commit, user_room
from deliberation.extensions import db
from deliberation.roundtables import permissions, sessions
from deliberation.roundtables.models import (
    ChatMessage,
    Idea,
    Participant,
    ParticipantRole,
    RoundtableSession,
    RoundtableTable,
    SessionState,
)
from deliberation.roundtables.rooms import NAMESPACE, staff_room
from deliberation.roundtables.tables import session_tables

#: The lead's bulk actions on the people page: a role to give, or a move.
BULK_ACTIONS = ("table_facilitator", "theme_team", "participant", "move")
#: A roster holds at most this many rows (a 5,000-seat session and its staff).
ROSTER_MAX_ROWS = 6000
ROSTER_MAX_BYTES = 512 * 1024
#: The words a roster's role column may hold (English and Korean), and the role they mean.
ROSTER_ROLES = {
    "participant": ParticipantRole.PARTICIPANT,
    "참가자": ParticipantRole.PARTICIPANT,
    "table_facilitator": ParticipantRole.TABLE_FACILITATOR,
    "facilitator": ParticipantRole.TABLE_FACILITATOR,
    "table facilitator": ParticipantRole.TABLE_FACILITATOR,
    "테이블 진행자": ParticipantRole.TABLE_FACILITATOR,
    "진행자": ParticipantRole.TABLE_FACILITATOR,
    "theme_team": ParticipantRole.THEME_TEAM,
    "theme team": ParticipantRole.THEME_TEAM,
    "주제팀": ParticipantRole.THEME_TEAM,
    "주제 팀": ParticipantRole.THEME_TEAM,
}


def _place(
    actor: User,
    session: RoundtableSession,
    person: Participant,
    role: ParticipantRole | None,
    table: RoundtableTable | None,
) -> None:
    """Give `person` a role and/or a table through the one-person services (each checks the
    lead, the one facilitator per table and a table's size). A new table facilitator moves
    first, so the check looks at the table they are going to."""
    if role == ParticipantRole.THEME_TEAM:
        if table is not None:
            raise DomainError(_("The theme team has no table."), code="theme_team_table")
        sessions.set_participant_role(actor, session, person, role)
        return
    new_role = role is not None and role != person.role
    if table is not None and person.table_id != table.id:
        # The new role decides the move's checks (a facilitator does not take a seat); role
        # and table are written together, so no half-way row (a second facilitator at the old
        # table) is ever flushed.
        with db.session.no_autoflush:
            if new_role:
                if role == ParticipantRole.TABLE_FACILITATOR and not _is_facilitator(person):
                    raise DomainError(_("Only facilitators can lead a table."), code="forbidden")
                person.role = role
            sessions.move_participant(actor, session, person, table)
    if new_role and role is not None:
        sessions.set_participant_role(actor, session, person, role)


def _is_facilitator(person: Participant) -> bool:
    return person.user is not None and person.user.is_facilitator


def apply_to_people(
    actor: User,
    session: RoundtableSession,
    participant_ids: Sequence[int],
    action: str,
    table: RoundtableTable | None = None,
) -> int:
    """The lead's bulk action on the people page: give the chosen people a role, or move them
    to a table. All or nothing: the first refusal names the person and changes nobody."""
    permissions.require_lead(actor, session)
    if action not in BULK_ACTIONS:
        raise DomainError(_("Choose what to do."), code="bad_action")
    if not participant_ids:
        raise DomainError(_("Choose at least one person."), code="nobody")
    if action == "move" and table is None:
        raise DomainError(_("Choose a table to move them to."), code="no_table")
    people = list(
        db.session.scalars(
            select(Participant)
            .where(Participant.session_id == session.id, Participant.id.in_(participant_ids))
            .order_by(Participant.id)
        )
    )
    if len(people) != len(set(participant_ids)):
        raise NotFound(_("No such person in this session."), code="no_such_participant")
    for person in people:
        try:
            if action == "move":
                _place(actor, session, person, None, table)
            else:
                _place(actor, session, person, ParticipantRole(action), None)
        except DomainError as error:
            raise DomainError(f"{person.name}: {error.message}", code=error.code) from error
    audit.record(
        "roundtable.bulk_staffing",
        "roundtable",
        session.id,
        actor_id=actor.id,
        bulk=action,
        people=[p.id for p in people],
        table=table.number if table else None,
    )
    return len(people)


# --- the CSV roster -----------------------------------------------------------------------


@dataclass
class RosterRow:
    """One line of a roster and what importing it does (or why it cannot)."""

    line: int
    email: str
    role: ParticipantRole | None = None
    table_number: int | None = None
    name: str = ""
    error: str | None = None
    #: What the row changes, in words, when it has no error ("no change" included).
    outcome: str = ""


@dataclass
class RosterResult:
    """Every row of a roster with its outcome; how many apply and how many have errors."""

    rows: list[RosterRow] = field(default_factory=list)
    error: str | None = None

    @property
    def good(self) -> int:
        return sum(1 for row in self.rows if row.error is None)

    @property
    def bad(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)


def _read_roster(text: str) -> tuple[list[RosterRow], str | None]:
    """The roster's rows (a header line `email,role,table` is optional), or why it is unreadable."""
    if len(text.encode("utf-8", "replace")) > ROSTER_MAX_BYTES:
        return [], _("The roster is too large (at most 512 KB).")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows: list[RosterRow] = []
    for number, cells in enumerate(lines, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("email", "e-mail", "이메일"):
            continue
        if len(rows) >= ROSTER_MAX_ROWS:
            return [], _("A roster holds at most %(n)d rows.", n=ROSTER_MAX_ROWS)
        row = RosterRow(line=number, email=cells[0].lower())
        role_text = cells[1].lower() if len(cells) > 1 else ""
        table_text = cells[2] if len(cells) > 2 else ""
        if len(cells) > 3 and any(cells[3:]):
            row.error = _("Too many columns: write email, role, table.")
        elif role_text not in ROSTER_ROLES:
            row.error = _(
                "Unknown role “%(role)s”: write participant, table_facilitator or theme_team.",
                role=role_text[:40],
            )
        else:
            row.role = ROSTER_ROLES[role_text]
        if row.error is None and table_text:
            if not table_text.isdigit():
                row.error = _("The table is a number, not “%(t)s”.", t=table_text[:20])
            else:
                row.table_number = int(table_text)
        rows.append(row)
    if not rows:
        return [], _("The roster has no rows.")
    return rows, None


def import_roster(actor: User, session: RoundtableSession, text: str) -> RosterResult:
    """Check or apply a roster: each row's person gets the row's role and table through the
    same services as the people page, each row in a savepoint so a refused row changes
    nothing and is reported with its line number. The caller rolls back for a preview and
    commits to apply (rows with errors are skipped)."""
    permissions.require_lead(actor, session)
    if session.state == SessionState.CLOSED:
        raise DomainError(_("This session has closed."), code="session_closed")
    rows, error = _read_roster(text)
    result = RosterResult(rows=rows, error=error)
    if error:
        return result
    emails = {row.email for row in rows}
    users = {
        u.email.lower(): u
        for u in db.session.scalars(select(User).where(func.lower(User.email).in_(emails)))
    }
    registered = {
        p.user_id: p
        for p in db.session.scalars(
            select(Participant).where(
                Participant.session_id == session.id,
                Participant.user_id.in_([u.id for u in users.values()]),
            )
        )
    }
    tables = {t.number: t for t in session_tables(session.id)}
    # The audit entry is written first, and flushed: with SQLite, a savepoint opened before
    # any write would start the transaction itself, and releasing it would commit the row.
    entry = audit.record("roundtable.roster_import", "roundtable", session.id, actor_id=actor.id)
    db.session.flush()
    seen: dict[str, int] = {}
    for row in rows:
        if row.error is not None:
            continue
        if row.email in seen:
            row.error = _("This email is already on line %(n)d.", n=seen[row.email])
            continue
        seen[row.email] = row.line
        user = users.get(row.email)
        if user is None:
            row.error = _("No member has this email.")
            continue
        row.name = user.display_name
        person = registered.get(user.id)
        if person is None:
            row.error = _("Not registered for this session.")
            continue
        table = None
        if row.table_number is not None:
            table = tables.get(row.table_number)
            if table is None:
                row.error = _("There is no table %(n)d.", n=row.table_number)
                continue
        before = (person.role, person.table_id)
        try:
            with db.session.begin_nested():
                _place(actor, session, person, row.role, table)
        except DomainError as refusal:
            db.session.refresh(person)
            row.error = refusal.message
            continue
        row.outcome = _roster_outcome(person, before)
    entry.details = {"applied": result.good, "errors": result.bad}
    return result


def _roster_outcome(person: Participant, before: tuple[ParticipantRole, int | None]) -> str:
    role_text = person.role.label
    table = db.session.get(RoundtableTable, person.table_id) if person.table_id else None
    if table is not None:
        where = _("table %(n)d", n=table.number)
        if before == (person.role, person.table_id):
            return _("No change: %(role)s at %(where)s", role=role_text, where=where)
        return _("%(role)s at %(where)s", role=role_text, where=where)
    if before == (person.role, person.table_id):
        return _("No change: %(role)s", role=role_text)
    return role_text


# --- merging a table without a facilitator ------------------------------------------------


def tables_without_facilitator(session_id: int) -> list[RoundtableTable]:
    """The session's tables that nobody facilitates, by number."""
    staffed = select(Participant.table_id).where(
        Participant.session_id == session_id,
        Participant.role == ParticipantRole.TABLE_FACILITATOR,
        Participant.table_id.is_not(None),
    )
    return list(
        db.session.scalars(
            select(RoundtableTable)
            .where(RoundtableTable.session_id == session_id, RoundtableTable.id.not_in(staffed))
            .order_by(RoundtableTable.number)
        )
    )


def nearest_staffed_table(session: RoundtableSession, table: RoundtableTable) -> RoundtableTable:
    """The neighbour a table without a facilitator joins by default: the staffed table whose
    number is nearest (the lower one on a tie)."""
    bare = {t.id for t in tables_without_facilitator(session.id)}
    staffed = [t for t in session_tables(session.id) if t.id not in bare]
    if not staffed:
        raise DomainError(_("No table has a facilitator yet."), code="no_staffed_table")
    return min(staffed, key=lambda t: (abs(t.number - table.number), t.number))


def merge_table(
    actor: User,
    session: RoundtableSession,
    table: RoundtableTable,
    into: RoundtableTable | None = None,
) -> dict[str, Any]:
    """The lead merges a table that has no facilitator into a neighbour (by default the
    nearest staffed one): its people, chat and ideas move there and the empty table is
    removed. Each person moved is told at once."""
    permissions.require_lead(actor, session)
    if session.state == SessionState.CLOSED:
        raise DomainError(_("This session has closed."), code="session_closed")
    if table.session_id != session.id or (into is not None and into.session_id != session.id):
        raise NotFound(_("No such table in this session."), code="no_such_table")
    if table not in tables_without_facilitator(session.id):
        raise DomainError(
            _("Table %(n)d has a facilitator; move people instead.", n=table.number),
            code="table_has_facilitator",
        )
    into = into or nearest_staffed_table(session, table)
    if into.id == table.id:
        raise DomainError(_("Choose another table to merge into."), code="same_table")
    people = list(
        db.session.scalars(
            select(Participant).where(Participant.table_id == table.id).order_by(Participant.id)
        )
    )
    for person in people:
        person.table_id = into.id
    db.session.execute(
        update(ChatMessage).where(ChatMessage.table_id == table.id).values(table_id=into.id)
    )
    db.session.execute(update(Idea).where(Idea.table_id == table.id).values(table_id=into.id))
    if table.help_requested_at is not None and into.help_requested_at is None:
        into.help_requested_at = table.help_requested_at
    number = table.number
    db.session.delete(table)
    session.advance_seq()
    db.session.flush()
    audit.record(
        "roundtable.merge_table",
        "roundtable",
        session.id,
        actor_id=actor.id,
        table=number,
        into=into.number,
        people=[p.id for p in people],
    )
    _tell_moved(session, people, into)
    payload = {
        "session_id": session.id,
        "number": number,
        "into_id": into.id,
        "into_number": into.number,
        "moved": len(people),
    }
    emit_after_commit("table_merged", payload, to=staff_room(session.id), namespace=NAMESPACE)
    return payload


def _tell_moved(
    session: RoundtableSession, people: Iterable[Participant], table: RoundtableTable
) -> None:
    for person in people:
        if person.user_id is None:  # a paper participant has no sockets to tell
            continue
        payload = {
            "session_id": session.id,
            "change": "move",
            "role": person.role.value,
            "table_number": table.number,
        }
        emit_after_commit(
            "seat_changed", payload, to=user_room(person.user_id), namespace=NAMESPACE
        )
