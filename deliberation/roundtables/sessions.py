"""A roundtable session's lifecycle and the lead's console: scheduling, registering, the
lobby, seating, phases and timers, broadcasts, closing (passing themes are adopted)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from deliberation.accounts.models import Division, Role, User
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.core import audit, memory
from deliberation.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from deliberation.core.realtime import emit_after_commit, user_room
from deliberation.core.sanitize import plain_text
from deliberation.core.scheduler import periodic
from deliberation.db import as_utc, utcnow
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.roundtables import adoption, hybrid, permissions, polls, seat_push, seating
from deliberation.roundtables.models import (
    MAX_PHASE_SECONDS,
    Broadcast,
    Participant,
    ParticipantRole,
    PassRule,
    Phase,
    Poll,
    PollState,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    TableKind,
    TakesPart,
    ThemeDestination,
    insert_ignoring_duplicates,
    rows_inserted,
    timer_duration,
)
from deliberation.roundtables.payloads import broadcast_payload, session_state_payload
from deliberation.roundtables.rooms import (
    NAMESPACE,
    call_after_commit,
    field_office_room,
    session_room,
    staff_room,
    table_room,
)
from deliberation.roundtables.tables import session_tables, table_facilitator_name, written_text

BROADCAST_MAX_CHARS = 500
MAX_LINKED_ITEMS = 20
#: Agenda items a session can be about: those still open (as `AgendaItem.accepts_comments`).
LINKABLE_ITEM_STATES = (ItemState.DRAFT, ItemState.DISCUSSION, ItemState.VOTING)


# --- reading helpers shared by services and edges -------------------------------------------


def get_session(session_id: int) -> RoundtableSession:
    session = db.session.get(RoundtableSession, session_id)
    if session is None:
        raise NotFound(_("No such roundtable session."))
    return session


def find_participant(session_id: int, user_id: int) -> Participant | None:
    """The person's registration in this session, if any."""
    return db.session.scalar(
        select(Participant).where(
            Participant.session_id == session_id, Participant.user_id == user_id
        )
    )


def get_participant(session: RoundtableSession, participant_id: int) -> Participant:
    """Someone registered in this session (the lead's console names them by id), or NotFound."""
    person = db.session.get(Participant, participant_id)
    if person is None or person.session_id != session.id:
        raise NotFound(_("No such person in this session."), code="no_such_participant")
    return person


# --- sessions -----------------------------------------------------------------------------


def _emit_state(session: RoundtableSession) -> None:
    emit_after_commit(
        "phase", session_state_payload(session), to=session_room(session.id), namespace=NAMESPACE
    )


def create_session(
    actor: User,
    *,
    division: Division,
    title: str,
    briefing: str = "",
    starts_at: datetime | None = None,
    capacity: int = 5000,
    table_size: int = 10,
    ideas_per_round: int = 5,
    threshold_percent: int = 50,
    pass_rule: PassRule = PassRule.AT_LEAST,
    lead: User | None = None,
    agenda_item_ids: Iterable[int] = (),
    theme_destination: ThemeDestination = ThemeDestination.AGENDA_ITEM,
    hall_tables: int = 0,
) -> RoundtableSession:
    """Schedule a roundtable session in a division, led by `lead` (default: its creator),
    about some open agenda items; passing themes go to `theme_destination` at close; the
    first `hall_tables` tables stand in the hall."""
    if not permissions.can_create_sessions(actor):
        raise DomainError(_("Only facilitators and admins create sessions."), code="forbidden")
    if not 6 <= table_size <= 12:
        raise DomainError(_("Tables seat between 6 and 12 people."), code="bad_table_size")
    if not 1 <= capacity <= 100_000:
        raise DomainError(_("Capacity must be between 1 and 100,000."), code="bad_capacity")
    if not 0 <= threshold_percent <= 100:
        raise DomainError(_("The threshold is a percentage."), code="bad_threshold")
    lead = lead or actor
    if not lead.is_facilitator:
        raise DomainError(_("The lead must be a facilitator."), code="lead_not_facilitator")
    session = RoundtableSession(
        division_id=division.id,
        title=plain_text(title).strip()[:200],
        briefing=briefing,
        starts_at=starts_at or utcnow(),
        capacity=capacity,
        table_size=table_size,
        ideas_per_round=max(1, min(ideas_per_round, 20)),
        threshold_percent=threshold_percent,
        pass_rule=PassRule(pass_rule),
        theme_destination=ThemeDestination(theme_destination),
        lead_id=lead.id,
    )
    session.agenda_items = linkable_agenda_items(agenda_item_ids)
    db.session.add(session)
    db.session.flush()
    hybrid.create_hall_tables(session, hall_tables)
    audit.record(
        "roundtable.create",
        "roundtable",
        session.id,
        actor_id=actor.id,
        agenda_items=[item.id for item in session.agenda_items],
        hall_tables=hall_tables,
    )
    return session


def linkable_agenda_items(item_ids: Iterable[int]) -> list[AgendaItem]:
    """The agenda items a session may be about: each must exist, be open (draft, discussion
    or voting) and belong to an active division; any other id refuses the whole list."""
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        return []
    if len(wanted) > MAX_LINKED_ITEMS:
        raise DomainError(
            _("Link at most %(n)d agenda items to a session.", n=MAX_LINKED_ITEMS),
            code="too_many_items",
        )
    items = list(
        db.session.scalars(
            select(AgendaItem)
            .join(Division, Division.id == AgendaItem.division_id)
            .where(
                AgendaItem.id.in_(wanted),
                AgendaItem.state.in_(LINKABLE_ITEM_STATES),
                Division.is_active.is_(True),
            )
        )
    )
    if len(items) != len(wanted):
        raise DomainError(
            _("Choose open agenda items from the list; one of them is not open or not found."),
            code="bad_agenda_item",
        )
    order = {item_id: n for n, item_id in enumerate(wanted)}
    return sorted(items, key=lambda item: order[item.id])


def register(
    session: RoundtableSession,
    user: User,
    role: ParticipantRole = ParticipantRole.PARTICIPANT,
    takes_part: TakesPart = TakesPart.ONLINE,
) -> Participant:
    """Take a seat in a session (idempotent), online or in the hall; facilitators may
    register to lead a table. Someone a facilitator entered on paper is refused."""
    if session.state == SessionState.CLOSED:
        raise IllegalTransition(_("This session has closed."), code="session_closed")
    if role == ParticipantRole.TABLE_FACILITATOR and not user.is_facilitator:
        raise DomainError(_("Only facilitators can lead a table."), code="forbidden")
    if role == ParticipantRole.THEME_TEAM:
        raise DomainError(_("The lead facilitator names the theme team."), code="forbidden")
    if takes_part == TakesPart.PAPER:
        raise DomainError(_("Only a facilitator enters people on paper."), code="forbidden")
    existing = find_participant(session.id, user.id)
    hybrid.refuse_online_if_on_paper(existing)
    if existing is not None:
        return existing
    if role == ParticipantRole.PARTICIPANT:
        seated = db.session.scalar(
            select(func.count(Participant.id)).where(
                Participant.session_id == session.id,
                Participant.role == ParticipantRole.PARTICIPANT,
            )
        )
        if (seated or 0) >= session.capacity:
            raise DomainError(_("This session is full."), code="session_full")
    inserted = rows_inserted(
        db.session.execute(
            insert_ignoring_duplicates(Participant).values(
                session_id=session.id,
                user_id=user.id,
                role=role,
                takes_part=TakesPart(takes_part),
                member_category=user.member_category,
                division_id=min((d.id for d in user.divisions), default=None),
                registered_at=utcnow(),
            )
        )
    )
    participant = find_participant(session.id, user.id)
    if inserted == 1:  # not a second tab registering at the same moment (UNIQUE decided)
        audit.record(
            "roundtable.register", "roundtable", session.id, actor_id=user.id, role=role.value,
            takes_part=TakesPart(takes_part).value,
        )  # fmt: skip
        hybrid.participation_changed(session.id)
    else:  # a facilitator entered them on paper at this very moment
        hybrid.refuse_online_if_on_paper(participant)
    return participant


def set_participant_role(
    actor: User, session: RoundtableSession, participant: Participant, role: ParticipantRole
) -> None:
    """The lead names theme-team members and table facilitators (or makes them participants)."""
    permissions.require_lead(actor, session)
    if role == ParticipantRole.TABLE_FACILITATOR and (
        participant.user is None or not participant.user.is_facilitator
    ):
        raise DomainError(_("Only facilitators can lead a table."), code="forbidden")
    if role == ParticipantRole.TABLE_FACILITATOR:
        require_free_facilitator_seat(session, participant, participant.table_id)
    old_table_id = participant.table_id
    participant.role = role
    if role == ParticipantRole.THEME_TEAM:
        participant.table_id = None
    db.session.flush()
    _seat_changed(
        actor, session, participant, "roundtable.set_role", [old_table_id], role=role.value
    )


def require_free_facilitator_seat(
    session: RoundtableSession, participant: Participant, table_id: int | None
) -> None:
    """A table has one facilitator: refuse to put a second one at `table_id`."""
    if table_id is None:
        return
    holder = db.session.scalar(
        select(Participant).where(
            Participant.session_id == session.id,
            Participant.table_id == table_id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
            Participant.id != participant.id,
        )
    )
    if holder is not None:
        number = db.session.get(RoundtableTable, table_id).number
        raise DomainError(
            _("Table %(n)d already has a facilitator (%(name)s).", n=number,
              name=holder.name),
            code="table_has_facilitator",
        )  # fmt: skip


def _seat_changed(
    actor: User,
    session: RoundtableSession,
    participant: Participant,
    action: str,
    left: Iterable[int | None] = (),
    **detail: Any,
) -> None:
    """Record the lead's change to someone's seat or role, and tell that person's sockets to
    join again (their rooms change), with what changed so the room can say so. The tables
    they `left` and joined hear their facilitator anew (`table_changed`), so nobody's room
    keeps naming a facilitator who moved away or a participant who now leads the table."""
    audit.record(
        action, "roundtable", session.id, actor_id=actor.id, participant=participant.id, **detail
    )
    table = db.session.get(RoundtableTable, participant.table_id) if participant.table_id else None
    payload = {
        "session_id": session.id,
        "change": "role" if action == "roundtable.set_role" else "move",
        "role": participant.role.value,
        "table_number": table.number if table else None,
    }
    if participant.user_id is not None:  # a paper participant has no sockets
        emit_after_commit(
            "seat_changed", payload, to=user_room(participant.user_id), namespace=NAMESPACE
        )
    for table_id in {t for t in (*left, participant.table_id) if t is not None}:
        changed = db.session.get(RoundtableTable, table_id)
        emit_after_commit(
            "table_changed",
            {
                "session_id": session.id,
                "table_id": table_id,
                "table_number": changed.number if changed else None,
                "facilitator": table_facilitator_name(session.id, table_id),
            },
            to=table_room(session.id, table_id),
            namespace=NAMESPACE,
        )
    # The console's table list (seated, facilitator) refreshes; it coalesces a bulk action.
    emit_after_commit(
        "people_changed", {"session_id": session.id}, to=staff_room(session.id), namespace=NAMESPACE
    )


def open_lobby(actor: User, session: RoundtableSession) -> None:
    """Let people in: the lobby opens before the session starts."""
    permissions.require_lead(actor, session)
    session.open_lobby()
    session.advance_seq()
    audit.record("roundtable.open_lobby", "roundtable", session.id, actor_id=actor.id)
    _emit_state(session)


def start_session(actor: User, session: RoundtableSession, duration_s: int | None = None) -> None:
    """Start the session with the briefing; the room is seated first if it was not."""
    permissions.require_lead(actor, session)
    session.start()
    if not session.seated:
        seat_room(actor, session)
    session.set_timer(timer_duration(duration_s))
    session.advance_seq()
    audit.record("roundtable.phase", "roundtable", session.id, actor_id=actor.id, phase="briefing")
    _emit_state(session)


def close_session(actor: User | None, session: RoundtableSession) -> adoption.Adoption:
    """Close the session: open polls close, passing themes become agenda items or proposals
    (the session's choice), and the results are public."""
    if actor is not None:
        permissions.require_lead(actor, session)
    for poll in polls.open_polls(session.id):
        polls.close_poll(None, poll)
    session.close()
    adopted = adoption.adopt_passing_themes(session)
    session.advance_seq()
    audit.record(
        "roundtable.close",
        "roundtable",
        session.id,
        actor_id=actor.id if actor else None,
        agenda_items=[item.id for item in adopted.items],
        proposals=[proposal.id for proposal in adopted.proposals],
    )
    evaluations.invite_at_close(session_id=session.id)
    _emit_state(session)
    call_after_commit(memory.release_live_state_soon)
    return adopted


# --- seating ------------------------------------------------------------------------------


def _participants(session_id: int, role: ParticipantRole | None = None) -> list[Participant]:
    query = select(Participant).where(Participant.session_id == session_id)
    if role is not None:
        query = query.where(Participant.role == role)
    return list(db.session.scalars(query.order_by(Participant.id)))


def seat_room(actor: User, session: RoundtableSession) -> dict[str, Any]:
    """Seat (or reseat) everyone registered: balanced tables, facilitators spread evenly."""
    permissions.require_lead(actor, session)
    if session.state not in (SessionState.LOBBY, SessionState.RUNNING):
        raise IllegalTransition(_("Open the lobby before seating the room."), code="not_open")
    everyone = _participants(session.id, ParticipantRole.PARTICIPANT)
    # paper participants keep the table they were entered at; the others are seated by how
    # they take part: hall people at hall (or mixed) tables, online people at online ones
    people = [p for p in everyone if p.takes_part != TakesPart.PAPER]
    facilitators = _participants(session.id, ParticipantRole.TABLE_FACILITATOR)
    groups = {
        group: [seating.Seatable(p.id, p.member_category.value, p.division_id)
                for p in people if (p.takes_part == TakesPart.HALL) == (group == "hall")]
        for group in ("hall", "online")
    }  # fmt: skip
    layouts = {
        group: seating.assign_tables(members, session.table_size)
        for group, members in groups.items()
        if members
    } or {"online": [[]]}
    tables = session_tables(session.id)
    placement = seating.place_groups(
        [t.kind.value for t in tables], {group: len(layout) for group, layout in layouts.items()}
    )
    # New tables take the next free numbers (a merged table leaves a gap in the numbers).
    last = max((t.number for t in tables), default=0)
    by_id = {p.id: p for p in people}
    used: dict[int, RoundtableTable] = {}
    for group, layout in layouts.items():
        for ids, index in zip(layout, placement[group], strict=True):
            if index is None:
                last += 1
                kind = TableKind.HALL if group == "hall" else TableKind.ONLINE
                table = RoundtableTable(session_id=session.id, number=last, kind=kind)
                db.session.add(table)
                db.session.flush()
            else:
                table = tables[index]
            used[table.id] = table
            for pid in ids:
                by_id[pid].table_id = table.id
    for person in everyone:
        if person.takes_part == TakesPart.PAPER and person.table is not None:
            used[person.table.id] = person.table
    seated_tables = sorted(used.values(), key=lambda t: t.number)
    db.session.flush()
    assigned = seating.assign_facilitators([f.id for f in facilitators], len(seated_tables))
    facilitator_by_id = {f.id: f for f in facilitators}
    for facilitator in facilitators:
        facilitator.table_id = None
    db.session.flush()  # off every table first: a reseat may swap two (one a table, UNIQUE)
    for t, fid in enumerate(assigned):
        if fid is not None:
            facilitator_by_id[fid].table_id = seated_tables[t].id
    session.seated = True
    session.advance_seq()
    without = [seated_tables[t].number for t, fid in enumerate(assigned) if fid is None]
    audit.record(
        "roundtable.seat",
        "roundtable",
        session.id,
        actor_id=actor.id,
        tables=len(seated_tables),
        people=len(people),
        tables_without_facilitator=without,
    )
    emit_after_commit(
        "seating", {"session_id": session.id, "seq": session.seq},
        to=session_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    # participants' pages get their seat pushed rather than all asking at once
    call_after_commit(partial(seat_push.room_seated, session.id))
    call_after_commit(memory.settle_live_state_soon)
    if without:
        message = ngettext(
            "%(num)d table has no facilitator: merge it into a neighbour or name one.",
            "%(num)d tables have no facilitator: merge them into neighbours or name some.",
            len(without),
        )
    else:
        message = _("Every table has a facilitator.")
    return {
        "tables": len(seated_tables),
        "people": len(people),
        "without_facilitator": without,
        "message": message,
    }


@dataclass(frozen=True)
class Joined:
    """Where a socket that joined a session belongs: its registration (None for staff who
    did not register), whether it sees every table, and the rooms it listens to."""

    participant: Participant | None
    staff: bool
    rooms: tuple[str, ...]


def join_session(user: User, session: RoundtableSession, wanted_table: int | None = None) -> Joined:
    """Come into a session live: staff (lead, theme team) watch every table; anyone else
    needs the lobby open, is registered if they were not, seated if the room already was,
    and may only ask for their own table."""
    participant = find_participant(session.id, user.id)
    staff = permissions.is_staff(user, session, participant)
    if not staff:
        hybrid.refuse_online_if_on_paper(participant)
        if participant is None and user.has_role(Role.FIELD_OFFICE):
            # field-office staff enter paper at any hall table: no seat, no vote of their own
            if not session.is_open_for_joining:
                raise DomainError(_("The lobby is not open yet."), code="not_open")
            return Joined(None, False, (session_room(session.id), field_office_room(session.id)))
        if session.state == SessionState.SCHEDULED:
            raise DomainError(_("The lobby is not open yet."), code="not_open")
        if session.state == SessionState.CLOSED:
            raise DomainError(_("This session has closed."), code="session_closed")
        if participant is None:
            participant = register(session, user)
        if (
            session.seated
            and participant.role == ParticipantRole.PARTICIPANT
            and participant.table_id is None
        ):
            seat_late_arrival(session, participant)
            db.session.flush()
            db.session.refresh(participant)
        if wanted_table is not None and participant.table_id != wanted_table:
            raise PermissionDenied(_("That is not your table."), code="not_your_table")
    rooms = [session_room(session.id)]
    if participant is not None and participant.table_id is not None:
        rooms.append(table_room(session.id, participant.table_id))
    if staff:
        rooms.append(staff_room(session.id))
    return Joined(participant, staff, tuple(rooms))


def seat_late_arrival(session: RoundtableSession, participant: Participant) -> RoundtableTable:
    """Put someone who arrives after seating at the emptiest table of their kind (hall or
    online; mixed tables take both), a new one if all are full."""
    counts = dict(
        db.session.execute(
            select(RoundtableTable.id, func.count(Participant.id))
            .outerjoin(
                Participant,
                (Participant.table_id == RoundtableTable.id)
                & (Participant.role == ParticipantRole.PARTICIPANT),
            )
            .where(
                RoundtableTable.session_id == session.id,
                RoundtableTable.kind.in_(
                    [k for k in TableKind if participant.takes_part.seats_at(k)]
                ),
            )
            .group_by(RoundtableTable.id)
        ).all()
    )
    table_id = seating.emptiest_table(counts, session.table_size)
    if table_id is None:
        number = (
            db.session.scalar(
                select(func.max(RoundtableTable.number)).where(
                    RoundtableTable.session_id == session.id
                )
            )
            or 0
        ) + 1
        kind = TableKind.ONLINE if participant.takes_part == TakesPart.ONLINE else TableKind.HALL
        table = RoundtableTable(session_id=session.id, number=number, kind=kind)
        db.session.add(table)
        db.session.flush()
    else:
        table = db.session.get(RoundtableTable, table_id)
    participant.table_id = table.id
    return table


def move_participant(
    actor: User, session: RoundtableSession, participant: Participant, table: RoundtableTable
) -> None:
    """The lead moves one person to another table; their sockets are told to rejoin."""
    permissions.require_lead(actor, session)
    if participant.session_id != session.id or table.session_id != session.id:
        raise NotFound(_("No such person or table in this session."))
    if participant.role == ParticipantRole.PARTICIPANT and participant.table_id != table.id:
        seated = db.session.scalar(
            select(func.count(Participant.id)).where(
                Participant.table_id == table.id, Participant.role == ParticipantRole.PARTICIPANT
            )
        )
        if (seated or 0) >= session.table_size:
            raise DomainError(_("That table is full."), code="table_full")
    if participant.role == ParticipantRole.TABLE_FACILITATOR:
        require_free_facilitator_seat(session, participant, table.id)
    old_table_id = participant.table_id
    participant.table_id = table.id
    db.session.flush()
    _seat_changed(
        actor, session, participant, "roundtable.move", [old_table_id], table=table.number
    )


# --- phases and timers --------------------------------------------------------------------


def set_phase(
    actor: User, session: RoundtableSession, phase: Phase, duration_s: int | None = None
) -> None:
    """The lead moves the room to a phase, optionally with a timer; everyone sees it."""
    permissions.require_lead(actor, session)
    _change_phase(session, phase, actor.id, timer_duration(duration_s))


def _change_phase(
    session: RoundtableSession, phase: Phase, actor_id: int | None, duration: int | None = None
) -> None:
    leaving = session.phase
    session.move_to_phase(phase)
    session.set_timer(duration)
    if leaving == Phase.POLL:
        for poll in polls.open_polls(session.id):
            polls.close_poll(None, poll)
    session.advance_seq()
    audit.record("roundtable.phase", "roundtable", session.id, actor_id=actor_id, phase=phase.value)
    _emit_state(session)


def control_timer(
    actor: User, session: RoundtableSession, action: str, seconds: int | None = None
) -> None:
    """Extend, pause, resume or end the current phase's timer (server time is the only clock)."""
    permissions.require_lead(actor, session)
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("The session is not running."), code="not_running")
    if action == "end":
        end_phase(session, actor.id)
        return
    if action == "extend":
        if seconds is None or not 0 < seconds <= MAX_PHASE_SECONDS:
            raise DomainError(_("Extend by 1 second to 4 hours."), code="bad_duration")
        if session.paused_remaining_s is not None:
            session.paused_remaining_s += seconds
        elif session.phase_ends_at is not None:
            session.phase_ends_at = as_utc(session.phase_ends_at) + timedelta(seconds=seconds)
        else:
            session.set_timer(seconds)
    elif action == "pause":
        if session.phase_ends_at is None:
            raise IllegalTransition(_("No timer is running."), code="no_timer")
        session.paused_remaining_s = session.remaining_s()
        session.phase_ends_at = None
    elif action == "resume":
        if session.paused_remaining_s is None:
            raise IllegalTransition(_("The timer is not paused."), code="not_paused")
        session.set_timer(max(1, session.paused_remaining_s))
    else:
        raise DomainError(_("Unknown timer action."), code="bad_payload")
    session.advance_seq()
    audit.record("roundtable.timer", "roundtable", session.id, actor_id=actor.id, timer=action)
    _emit_state(session)


def end_phase(session: RoundtableSession, actor_id: int | None = None) -> None:
    """End the current phase now: move to the next one (results stays; its timer stops)."""
    following = session.next_phase()
    if following is None:
        session.set_timer(None)
        session.advance_seq()
        audit.record("roundtable.timer", "roundtable", session.id, actor_id=actor_id, timer="end")
        _emit_state(session)
        return
    _change_phase(session, following, actor_id)


@periodic("roundtables.end_expired_phases", 1.0)
def end_expired_phases() -> int:
    """For the scheduler: end every phase whose timer ran out, close every poll that is due."""
    now = utcnow()
    ended = 0
    due = db.session.scalars(
        select(RoundtableSession).where(
            RoundtableSession.state == SessionState.RUNNING,
            RoundtableSession.phase_ends_at.is_not(None),
            RoundtableSession.phase_ends_at <= now,
        )
    )
    for session in list(due):
        end_phase(session)
        ended += 1
    polls = db.session.scalars(
        select(Poll).where(
            Poll.state == PollState.OPEN, Poll.closes_at.is_not(None), Poll.closes_at <= now
        )
    )
    for poll in list(polls):
        polls.close_poll(None, poll)
    return ended


def broadcast_message(actor: User, session: RoundtableSession, text: str) -> dict[str, Any]:
    """The lead's message to every table (shown in every table's chat)."""
    permissions.require_lead(actor, session)
    body = written_text(
        text,
        BROADCAST_MAX_CHARS,
        empty=_("Write a message first."),
        too_long=_("That message is too long."),
    )
    broadcast = Broadcast(session_id=session.id, author_id=actor.id, body=body)
    db.session.add(broadcast)
    db.session.flush()
    payload = broadcast_payload(broadcast)
    audit.record(
        "roundtable.broadcast", "roundtable", session.id, actor_id=actor.id, broadcast=broadcast.id
    )
    emit_after_commit("broadcast", payload, to=session_room(session.id), namespace=NAMESPACE)
    return payload
