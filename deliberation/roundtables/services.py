"""Every write of a roundtable session and its rules; the edge (view or socket) commits."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from deliberation.accounts.models import Division, User
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.core import audit, memory
from deliberation.core.errors import DomainError, IllegalTransition, NotFound
from deliberation.core.realtime import emit_after_commit, user_room
from deliberation.core.sanitize import plain_text
from deliberation.core.scheduler import periodic
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.roundtables import permissions, polls, results, seating
from deliberation.roundtables.models import (
    ChatMessage,
    Idea,
    Participant,
    ParticipantRole,
    Phase,
    Poll,
    PollKind,
    PollOption,
    PollState,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    Theme,
    ThemeDestination,
    insert_ignoring_duplicates,
    rows_inserted,
)
from deliberation.roundtables.rooms import (
    NAMESPACE,
    call_after_commit,
    session_room,
    staff_room,
    table_room,
)

CHAT_MAX_CHARS = 500
IDEA_MAX_CHARS = 300
BROADCAST_MAX_CHARS = 500
THEME_NAME_MAX = 200
THEME_DESCRIPTION_MAX = 2000
MAX_PHASE_SECONDS = 4 * 3600
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
    return db.session.scalar(
        select(Participant).where(
            Participant.session_id == session_id, Participant.user_id == user_id
        )
    )


def get_table(session: RoundtableSession, table_id: int) -> RoundtableTable:
    table = db.session.get(RoundtableTable, table_id)
    if table is None or table.session_id != session.id:
        raise NotFound(_("No such table in this session."), code="no_such_table")
    return table


def bump(session: RoundtableSession) -> int:
    """Advance the session's sequence number: clients compare it to notice missed events."""
    return session.advance_seq()


def session_state_payload(session: RoundtableSession) -> dict[str, Any]:
    """What every client shows: state, phase, round and timer (end time and seconds left)."""
    ends_at = as_utc(session.phase_ends_at)
    return {
        "session_id": session.id,
        "seq": session.seq,
        "state": session.state.value,
        "phase": session.phase.value if session.phase else None,
        "round": session.round_no,
        "ends_at": ends_at.isoformat() if ends_at else None,
        "remaining_s": session.remaining_s(),
        "paused": session.paused_remaining_s is not None,
        "server_now": utcnow().isoformat(),
        "seated": session.seated,
    }


def _emit_state(session: RoundtableSession) -> None:
    emit_after_commit(
        "phase", session_state_payload(session), to=session_room(session.id), namespace=NAMESPACE
    )


# --- sessions -----------------------------------------------------------------------------


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
    lead: User | None = None,
    agenda_item_ids: Iterable[int] = (),
    theme_destination: ThemeDestination = ThemeDestination.AGENDA_ITEM,
) -> RoundtableSession:
    """Schedule a roundtable session in a division, led by `lead` (default: its creator),
    about some open agenda items; passing themes go to `theme_destination` at close."""
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
        theme_destination=ThemeDestination(theme_destination),
        lead_id=lead.id,
    )
    session.agenda_items = linkable_agenda_items(agenda_item_ids)
    db.session.add(session)
    db.session.flush()
    audit.record(
        "roundtable.create",
        "roundtable",
        session.id,
        actor_id=actor.id,
        agenda_items=[item.id for item in session.agenda_items],
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
    session: RoundtableSession, user: User, role: ParticipantRole = ParticipantRole.PARTICIPANT
) -> Participant:
    """Take a seat in a session (idempotent); facilitators may register to lead a table."""
    if session.state == SessionState.CLOSED:
        raise IllegalTransition(_("This session has closed."), code="session_closed")
    if role == ParticipantRole.TABLE_FACILITATOR and not user.is_facilitator:
        raise DomainError(_("Only facilitators can lead a table."), code="forbidden")
    if role == ParticipantRole.THEME_TEAM:
        raise DomainError(_("The lead facilitator names the theme team."), code="forbidden")
    existing = find_participant(session.id, user.id)
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
                member_category=user.member_category,
                division_id=min((d.id for d in user.divisions), default=None),
                registered_at=utcnow(),
            )
        )
    )
    participant = find_participant(session.id, user.id)
    if inserted == 1:  # not a second tab registering at the same moment (UNIQUE decided)
        audit.record(
            "roundtable.register", "roundtable", session.id, actor_id=user.id, role=role.value
        )
    return participant


def set_participant_role(
    actor: User, session: RoundtableSession, participant: Participant, role: ParticipantRole
) -> None:
    """The lead names theme-team members and table facilitators (or makes them participants)."""
    permissions.require_lead(actor, session)
    if role == ParticipantRole.TABLE_FACILITATOR and not participant.user.is_facilitator:
        raise DomainError(_("Only facilitators can lead a table."), code="forbidden")
    participant.role = role
    if role == ParticipantRole.THEME_TEAM:
        participant.table_id = None
    audit.record(
        "roundtable.set_role",
        "roundtable",
        session.id,
        actor_id=actor.id,
        participant=participant.id,
        role=role.value,
    )
    emit_after_commit(
        "seat_changed", {"session_id": session.id}, to=user_room(participant.user_id),
        namespace=NAMESPACE,
    )  # fmt: skip


def open_lobby(actor: User, session: RoundtableSession) -> None:
    """Let people in: the lobby opens before the session starts."""
    permissions.require_lead(actor, session)
    session.open_lobby()
    bump(session)
    audit.record("roundtable.open_lobby", "roundtable", session.id, actor_id=actor.id)
    _emit_state(session)


def start_session(actor: User, session: RoundtableSession, duration_s: int | None = None) -> None:
    """Start the session with the briefing; the room is seated first if it was not."""
    permissions.require_lead(actor, session)
    session.start()
    if not session.seated:
        seat_room(actor, session)
    session.set_timer(_duration(duration_s))
    bump(session)
    audit.record("roundtable.phase", "roundtable", session.id, actor_id=actor.id, phase="briefing")
    _emit_state(session)


def close_session(actor: User | None, session: RoundtableSession) -> results.Adoption:
    """Close the session: open polls close, passing themes become agenda items or proposals
    (the session's choice), and the results are public."""
    if actor is not None:
        permissions.require_lead(actor, session)
    for poll in polls.open_polls(session.id):
        polls.close_poll(None, poll)
    session.close()
    adoption = results.adopt_passing_themes(session)
    bump(session)
    audit.record(
        "roundtable.close",
        "roundtable",
        session.id,
        actor_id=actor.id if actor else None,
        agenda_items=[item.id for item in adoption.items],
        proposals=[proposal.id for proposal in adoption.proposals],
    )
    _emit_state(session)
    call_after_commit(memory.release_live_state_soon)
    return adoption


# --- seating ------------------------------------------------------------------------------


def _participants(session_id: int, role: ParticipantRole | None = None) -> list[Participant]:
    query = select(Participant).where(Participant.session_id == session_id)
    if role is not None:
        query = query.where(Participant.role == role)
    return list(db.session.scalars(query.order_by(Participant.id)))


def _tables(session_id: int) -> list[RoundtableTable]:
    return list(
        db.session.scalars(
            select(RoundtableTable)
            .where(RoundtableTable.session_id == session_id)
            .order_by(RoundtableTable.number)
        )
    )


def seat_room(actor: User, session: RoundtableSession) -> dict[str, Any]:
    """Seat (or reseat) everyone registered: balanced tables, facilitators spread evenly."""
    permissions.require_lead(actor, session)
    if session.state not in (SessionState.LOBBY, SessionState.RUNNING):
        raise IllegalTransition(_("Open the lobby before seating the room."), code="not_open")
    people = _participants(session.id, ParticipantRole.PARTICIPANT)
    facilitators = _participants(session.id, ParticipantRole.TABLE_FACILITATOR)
    seatables = [seating.Seatable(p.id, p.member_category.value, p.division_id) for p in people]
    layout = seating.assign_tables(seatables, session.table_size) or [[]]
    tables = _tables(session.id)
    for number in range(len(tables) + 1, len(layout) + 1):
        table = RoundtableTable(session_id=session.id, number=number)
        db.session.add(table)
        tables.append(table)
    db.session.flush()
    table_of_person = {pid: tables[t].id for t, ids in enumerate(layout) for pid in ids}
    by_id = {p.id: p for p in people}
    for pid, table_id in table_of_person.items():
        by_id[pid].table_id = table_id
    assigned = seating.assign_facilitators([f.id for f in facilitators], len(layout))
    facilitator_by_id = {f.id: f for f in facilitators}
    for facilitator in facilitators:
        facilitator.table_id = None
    for t, fid in enumerate(assigned):
        if fid is not None:
            facilitator_by_id[fid].table_id = tables[t].id
    session.seated = True
    bump(session)
    without = [tables[t].number for t, fid in enumerate(assigned) if fid is None]
    audit.record(
        "roundtable.seat",
        "roundtable",
        session.id,
        actor_id=actor.id,
        tables=len(layout),
        people=len(people),
        tables_without_facilitator=without,
    )
    emit_after_commit(
        "seating", {"session_id": session.id, "seq": session.seq},
        to=session_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    call_after_commit(memory.settle_live_state_soon)
    return {"tables": len(layout), "people": len(people), "without_facilitator": without}


def seat_late_arrival(session: RoundtableSession, participant: Participant) -> RoundtableTable:
    """Put someone who arrives after seating at the emptiest table (a new one if all are full)."""
    counts = dict(
        db.session.execute(
            select(RoundtableTable.id, func.count(Participant.id))
            .outerjoin(
                Participant,
                (Participant.table_id == RoundtableTable.id)
                & (Participant.role == ParticipantRole.PARTICIPANT),
            )
            .where(RoundtableTable.session_id == session.id)
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
        table = RoundtableTable(session_id=session.id, number=number)
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
    participant.table_id = table.id
    audit.record(
        "roundtable.move",
        "roundtable",
        session.id,
        actor_id=actor.id,
        participant=participant.id,
        table=table.number,
    )
    emit_after_commit(
        "seat_changed", {"session_id": session.id}, to=user_room(participant.user_id),
        namespace=NAMESPACE,
    )  # fmt: skip


# --- phases and timers --------------------------------------------------------------------


def _duration(seconds: int | None) -> int | None:
    if seconds is None or seconds == 0:
        return None
    if not 0 < seconds <= MAX_PHASE_SECONDS:
        raise DomainError(_("A phase lasts between 1 second and 4 hours."), code="bad_duration")
    return seconds


def set_phase(
    actor: User, session: RoundtableSession, phase: Phase, duration_s: int | None = None
) -> None:
    """The lead moves the room to a phase, optionally with a timer; everyone sees it."""
    permissions.require_lead(actor, session)
    _change_phase(session, phase, actor.id, _duration(duration_s))


def _change_phase(
    session: RoundtableSession, phase: Phase, actor_id: int | None, duration: int | None = None
) -> None:
    leaving = session.phase
    session.move_to_phase(phase)
    session.set_timer(duration)
    if leaving == Phase.POLL:
        for poll in polls.open_polls(session.id):
            polls.close_poll(None, poll)
    bump(session)
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
    bump(session)
    audit.record("roundtable.timer", "roundtable", session.id, actor_id=actor.id, timer=action)
    _emit_state(session)


def end_phase(session: RoundtableSession, actor_id: int | None = None) -> None:
    """End the current phase now: move to the next one (results stays; its timer stops)."""
    following = session.next_phase()
    if following is None:
        session.set_timer(None)
        bump(session)
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
    body = plain_text(text).strip()
    if not body:
        raise DomainError(_("Write a message first."), code="empty")
    if len(body) > BROADCAST_MAX_CHARS:
        raise DomainError(_("That message is too long."), code="too_long")
    payload = {
        "session_id": session.id,
        "body": body,
        "author": actor.display_name,
        "created_at": utcnow().isoformat(),
    }
    audit.record("roundtable.broadcast", "roundtable", session.id, actor_id=actor.id)
    emit_after_commit("broadcast", payload, to=session_room(session.id), namespace=NAMESPACE)
    return payload


# --- tables: chat, ideas, help ------------------------------------------------------------


def chat_payload(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "table_id": message.table_id,
        "client_id": message.client_id,
        "author": message.author.display_name,
        "author_id": message.author_id,
        "body": message.body,
        "created_at": as_utc(message.created_at).isoformat(),
    }


def send_chat(
    session: RoundtableSession, participant: Participant, text: str, client_id: str
) -> dict[str, Any]:
    """Post to one's own table; only that table and the lead and theme team see it."""
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("Table chat opens when the session starts."), code="not_running")
    if participant.table_id is None:
        raise DomainError(_("You do not have a seat at a table yet."), code="not_seated")
    body = plain_text(text).strip()
    if not body:
        raise DomainError(_("Write a message first."), code="empty")
    if len(body) > CHAT_MAX_CHARS:
        raise DomainError(
            _("A chat message holds at most %(n)d characters.", n=CHAT_MAX_CHARS), code="too_long"
        )
    inserted = rows_inserted(
        db.session.execute(
            insert_ignoring_duplicates(ChatMessage).values(
                session_id=session.id,
                table_id=participant.table_id,
                author_id=participant.user_id,
                client_id=client_id,
                body=body,
                is_broadcast=False,
                created_at=utcnow(),
            )
        )
    )
    message = db.session.scalar(
        select(ChatMessage).where(
            ChatMessage.author_id == participant.user_id, ChatMessage.client_id == client_id
        )
    )
    if inserted != 1:  # a repeat of a message already posted (UNIQUE decided): same answer
        return chat_payload(message)
    payload = chat_payload(message)
    emit_after_commit(
        "chat_message", payload, to=table_room(session.id, participant.table_id),
        namespace=NAMESPACE,
    )  # fmt: skip
    emit_after_commit("chat_message", payload, to=staff_room(session.id), namespace=NAMESPACE)
    return payload


def request_help(session: RoundtableSession, participant: Participant) -> dict[str, Any]:
    """Anyone at a table can ask the lead for help; the table is flagged on the console."""
    if participant.table_id is None:
        raise DomainError(_("You do not have a seat at a table yet."), code="not_seated")
    table = get_table(session, participant.table_id)
    table.help_requested_at = utcnow()
    payload = {"session_id": session.id, "table_id": table.id, "number": table.number, "help": True}
    emit_after_commit("help_flag", payload, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "help_flag", payload, to=table_room(session.id, table.id), namespace=NAMESPACE
    )
    return payload


def clear_help(actor: User, session: RoundtableSession, table: RoundtableTable) -> dict[str, Any]:
    """The lead marks a table's call for help as answered."""
    permissions.require_lead(actor, session)
    table.help_requested_at = None
    payload = {"session_id": session.id, "table_id": table.id, "number": table.number}
    payload["help"] = False
    emit_after_commit("help_flag", payload, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "help_flag", payload, to=table_room(session.id, table.id), namespace=NAMESPACE
    )
    return payload


def idea_payload(idea: Idea) -> dict[str, Any]:
    return {
        "id": idea.id,
        "table_id": idea.table_id,
        "table_number": idea.table.number if idea.table else None,
        "round": idea.round_no,
        "body": idea.body,
        "client_id": idea.client_id,
        "submitted": idea.submitted_at is not None,
        "theme_id": idea.theme_id,
    }


def add_idea(
    session: RoundtableSession,
    participant: Participant | None,
    table_id: int,
    text: str,
    client_id: str,
) -> dict[str, Any]:
    """The table facilitator records one of the table's ideas for this round."""
    permissions.require_table_facilitator(participant, table_id)
    if participant is None:  # for the type checker: the check above raised already
        raise DomainError(code="forbidden")
    if session.phase not in (Phase.DISCUSSION, Phase.SUBMISSIONS):
        raise IllegalTransition(
            _("Ideas are recorded during table discussion and submissions."), code="wrong_phase"
        )
    body = plain_text(text).strip()
    if not body:
        raise DomainError(_("Write the idea first."), code="empty")
    if len(body) > IDEA_MAX_CHARS:
        raise DomainError(
            _("An idea holds at most %(n)d characters.", n=IDEA_MAX_CHARS), code="too_long"
        )
    existing = db.session.scalar(
        select(Idea).where(Idea.table_id == table_id, Idea.client_id == client_id)
    )
    if existing is not None:  # a repeat: same answer, before the per-round limit is counted
        return idea_payload(existing)
    count = db.session.scalar(
        select(func.count(Idea.id)).where(
            Idea.table_id == table_id, Idea.round_no == session.round_no
        )
    )
    if (count or 0) >= session.ideas_per_round:
        raise DomainError(
            _("A table records at most %(n)d ideas a round.", n=session.ideas_per_round),
            code="too_many_ideas",
        )
    inserted = rows_inserted(
        db.session.execute(
            insert_ignoring_duplicates(Idea).values(
                session_id=session.id,
                table_id=table_id,
                round_no=session.round_no,
                author_id=participant.user_id,
                client_id=client_id,
                body=body,
                created_at=utcnow(),
            )
        )
    )
    idea = db.session.scalar(
        select(Idea).where(Idea.table_id == table_id, Idea.client_id == client_id)
    )
    if inserted != 1:  # the same client id at the same moment: UNIQUE decided
        return idea_payload(idea)
    payload = idea_payload(idea)
    emit_after_commit("idea", payload, to=table_room(session.id, table_id), namespace=NAMESPACE)
    return payload


def submit_ideas(
    session: RoundtableSession, participant: Participant | None, table_id: int
) -> dict[str, Any]:
    """The table facilitator sends the round's ideas to the theme team (submissions phase)."""
    permissions.require_table_facilitator(participant, table_id)
    if participant is None:  # for the type checker: the check above raised already
        raise DomainError(code="forbidden")
    if session.phase != Phase.SUBMISSIONS:
        raise IllegalTransition(
            _("Ideas are submitted in the table submissions phase."), code="wrong_phase"
        )
    ideas = list(
        db.session.scalars(
            select(Idea).where(
                Idea.table_id == table_id,
                Idea.round_no == session.round_no,
                Idea.submitted_at.is_(None),
            )
        )
    )
    if not ideas:
        raise DomainError(_("There are no new ideas to submit."), code="nothing_to_submit")
    now = utcnow()
    for idea in ideas:
        idea.submitted_at = now
    payloads = [idea_payload(idea) for idea in ideas]
    audit.record(
        "roundtable.submit_ideas",
        "roundtable",
        session.id,
        actor_id=participant.user_id,
        table=table_id,
        ideas=len(ideas),
    )
    message = {"session_id": session.id, "table_id": table_id, "ideas": payloads}
    emit_after_commit("ideas_submitted", message, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "ideas_submitted", message, to=table_room(session.id, table_id), namespace=NAMESPACE
    )
    return {"submitted": len(ideas)}


# --- theme team ---------------------------------------------------------------------------


def theme_payload(theme: Theme) -> dict[str, Any]:
    return {
        "id": theme.id,
        "name": theme.name,
        "description": theme.description,
        "published": theme.published,
        "round": theme.round_no,
        "idea_ids": [idea.id for idea in theme.ideas],
        "tables": sorted({idea.table.number for idea in theme.ideas if idea.table}),
    }


def _theme_text(name: str, description: str) -> tuple[str, str]:
    name = plain_text(name).strip()
    description = plain_text(description).strip()
    if not name:
        raise DomainError(_("Give the theme a name."), code="empty")
    if len(name) > THEME_NAME_MAX or len(description) > THEME_DESCRIPTION_MAX:
        raise DomainError(_("The theme's name or description is too long."), code="too_long")
    return name, description


def _submitted_ideas(session: RoundtableSession, idea_ids: list[int]) -> list[Idea]:
    ideas = list(db.session.scalars(select(Idea).where(Idea.id.in_(idea_ids)))) if idea_ids else []
    if len(ideas) != len(set(idea_ids)) or any(
        idea.session_id != session.id or idea.submitted_at is None for idea in ideas
    ):
        raise DomainError(
            _("Only submitted ideas of this session can be grouped."), code="bad_idea"
        )
    return ideas


def _get_theme(session: RoundtableSession, theme_id: int) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None or theme.session_id != session.id or theme.merged_into_id is not None:
        raise NotFound(_("No such theme."), code="no_such_theme")
    return theme


def _emit_themes(session: RoundtableSession, theme: Theme) -> None:
    emit_after_commit("theme", theme_payload(theme), to=staff_room(session.id), namespace=NAMESPACE)


def create_theme(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    name: str,
    description: str,
    idea_ids: list[int],
) -> dict[str, Any]:
    """The theme team groups submitted ideas under a named theme."""
    permissions.require_theme_team(actor, session, participant)
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("The session is not running."), code="not_running")
    name, description = _theme_text(name, description)
    theme = Theme(
        session_id=session.id, round_no=session.round_no, name=name, description=description
    )
    db.session.add(theme)
    db.session.flush()
    for idea in _submitted_ideas(session, idea_ids):
        idea.theme_id = theme.id
    db.session.flush()
    db.session.refresh(theme)
    _emit_themes(session, theme)
    return theme_payload(theme)


def update_theme(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    theme_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    idea_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Rename a theme, rewrite its description or change which ideas it groups."""
    permissions.require_theme_team(actor, session, participant)
    theme = _get_theme(session, theme_id)
    new_name, new_description = _theme_text(
        theme.name if name is None else name,
        theme.description if description is None else description,
    )
    theme.name, theme.description = new_name, new_description
    if idea_ids is not None:
        wanted = _submitted_ideas(session, idea_ids)
        for idea in theme.ideas:
            idea.theme_id = None
        for idea in wanted:
            idea.theme_id = theme.id
    db.session.flush()
    db.session.refresh(theme)
    _emit_themes(session, theme)
    return theme_payload(theme)


def merge_themes(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    theme_id: int,
    into_id: int,
) -> dict[str, Any]:
    """Fold one theme into another: its ideas move over, it disappears from the list."""
    permissions.require_theme_team(actor, session, participant)
    if theme_id == into_id:
        raise DomainError(_("A theme cannot merge into itself."), code="bad_merge")
    source = _get_theme(session, theme_id)
    target = _get_theme(session, into_id)
    for idea in list(source.ideas):
        idea.theme_id = target.id
    source.merged_into_id = target.id
    source.published = False
    db.session.flush()
    db.session.refresh(target)
    emit_after_commit(
        "theme_merged", {"theme_id": source.id, "into": theme_payload(target)},
        to=staff_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    return theme_payload(target)


def publish_themes(
    actor: User, session: RoundtableSession, participant: Participant | None
) -> dict[str, Any]:
    """Publish this round's themes to the whole room, ready for the poll."""
    permissions.require_theme_team(actor, session, participant)
    themes = current_themes(session)
    if not themes:
        raise DomainError(_("There are no themes to publish yet."), code="nothing_to_publish")
    for theme in themes:
        theme.published = True
    bump(session)
    payload = {
        "session_id": session.id,
        "seq": session.seq,
        "themes": [theme_payload(t) for t in themes],
    }
    audit.record("roundtable.publish_themes", "roundtable", session.id, actor_id=actor.id)
    emit_after_commit("themes", payload, to=session_room(session.id), namespace=NAMESPACE)
    return payload


def current_themes(session: RoundtableSession, published_only: bool = False) -> list[Theme]:
    query = select(Theme).where(
        Theme.session_id == session.id,
        Theme.round_no == session.round_no,
        Theme.merged_into_id.is_(None),
    )
    if published_only:
        query = query.where(Theme.published.is_(True))
    return list(db.session.scalars(query.order_by(Theme.id)))


# --- live polls ---------------------------------------------------------------------------


def poll_payload(poll: Poll) -> dict[str, Any]:
    closes = as_utc(poll.closes_at)
    return {
        "id": poll.id,
        "session_id": poll.session_id,
        "kind": poll.kind.value,
        "question": poll.question,
        "state": poll.state.value,
        "closes_at": closes.isoformat() if closes else None,
        "options": [{"id": o.id, "label": o.label, "theme_id": o.theme_id} for o in poll.options],
    }


def open_poll(
    actor: User,
    session: RoundtableSession,
    kind: PollKind,
    question: str,
    options: list[str] | None = None,
    duration_s: int | None = None,
) -> Poll:
    """The lead opens a room poll on the published themes (or a question with options)."""
    permissions.require_lead(actor, session)
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("The session is not running."), code="not_running")
    if session.phase != Phase.POLL:
        raise IllegalTransition(_("Polls open in the room poll phase."), code="wrong_phase")
    if polls.open_polls(session.id):
        raise IllegalTransition(_("Close the open poll first."), code="poll_open")
    question = plain_text(question).strip()
    if not question or len(question) > 300:
        raise DomainError(_("Write a question of at most 300 characters."), code="bad_question")
    poll = Poll(session_id=session.id, round_no=session.round_no, kind=kind, question=question)
    duration = _duration(duration_s)
    if duration:
        poll.closes_at = utcnow() + timedelta(seconds=duration)
    if kind == PollKind.QUESTION:
        labels = [plain_text(o).strip() for o in options or []]
        labels = [label for label in labels if label]
        if not 2 <= len(labels) <= polls.MAX_POLL_OPTIONS or any(len(lb) > 200 for lb in labels):
            raise DomainError(_("A question needs 2 to 20 short options."), code="bad_options")
        poll.options = [PollOption(position=i, label=lb) for i, lb in enumerate(labels)]
    else:
        themes = current_themes(session, published_only=True)
        if not themes:
            raise DomainError(_("Publish the themes before the poll."), code="no_themes")
        poll.options = [
            PollOption(position=i, label=t.name, theme_id=t.id) for i, t in enumerate(themes)
        ]
    db.session.add(poll)
    db.session.flush()
    bump(session)
    audit.record("roundtable.poll_open", "roundtable_poll", poll.id, actor_id=actor.id)
    emit_after_commit(
        "poll_opened", {**poll_payload(poll), "seq": session.seq},
        to=session_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    return poll


def utc_seconds_left(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return max(0, int((as_utc(moment) - utcnow()).total_seconds()))
