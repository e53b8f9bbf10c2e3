"""Reads about roundtable sessions that pages and sockets share: snapshots, console, results."""

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.agendas.models import AgendaItem
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.roundtables import hybrid, payloads, polls, results, sessions
from deliberation.roundtables.models import (
    Broadcast,
    ChatMessage,
    Idea,
    Participant,
    ParticipantRole,
    Poll,
    PollState,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    TakesPart,
    Theme,
    session_agenda_items,
)
from deliberation.roundtables.tables import session_tables, table_facilitator_name
from deliberation.roundtables.themes import (
    current_themes,
    published_theme_payloads,
    team_theme_payload,
)

RECENT_CHAT = 50
#: Ids per IN list (SQLite allows 32,766 parameters; a list this long is one round trip).
IN_CHUNK = 1000


def sessions_page(page: int = 1, per_page: int = 20):
    """Sessions, the open and upcoming first, paginated."""
    order = (RoundtableSession.state == SessionState.CLOSED, RoundtableSession.starts_at.desc())
    return db.paginate(
        select(RoundtableSession).order_by(*order), page=page, per_page=per_page, error_out=False
    )


def participant_counts(session_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Participant.role, func.count(Participant.id))
        .where(Participant.session_id == session_id)
        .group_by(Participant.role)
    ).all()
    return {str(role): count for role, count in rows}


def recent_chat(session_id: int, table_id: int, limit: int = RECENT_CHAT) -> list[dict[str, Any]]:
    messages = db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id, ChatMessage.table_id == table_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return [payloads.chat_payload(m) for m in reversed(list(messages))]


def table_ideas(session: RoundtableSession, table_id: int) -> list[dict[str, Any]]:
    return ideas_by_table(session, [table_id]).get(table_id, [])


def ideas_by_table(
    session: RoundtableSession, table_ids: Collection[int]
) -> dict[int, list[dict[str, Any]]]:
    """The ideas of this round at each of these tables, in one query."""
    ideas: dict[int, list[dict[str, Any]]] = {}
    if not table_ids:
        return ideas
    for idea in db.session.scalars(
        select(Idea)
        .where(
            Idea.session_id == session.id,
            Idea.table_id.in_(list(table_ids)),
            Idea.round_no == session.round_no,
        )
        .order_by(Idea.id)
    ):
        ideas.setdefault(idea.table_id, []).append(payloads.idea_payload(idea))
    return ideas


def current_poll(session_id: int) -> Poll | None:
    """The open poll (the newest, should there be two), else the latest one: one query, as
    every `join` asks (5,000 at once when a room is seated)."""
    return db.session.scalar(
        select(Poll)
        .where(Poll.session_id == session_id)
        .order_by((Poll.state == PollState.OPEN).desc(), Poll.id.desc())
        .limit(1)
    )


def seat_payload(participant: Participant | None) -> dict[str, Any] | None:
    if participant is None:
        return None
    table = participant.table
    facilitator = table_facilitator_name(participant.session_id, table.id) if table else None
    return _seat(participant, table, facilitator)


def _seat(
    participant: Participant, table: RoundtableTable | None, facilitator: str | None
) -> dict[str, Any]:
    return {
        "participant_id": participant.id,
        "role": participant.role.value,
        "votes": participant.may_vote,
        "table_id": table.id if table else None,
        "table_number": table.number if table else None,
        "facilitator": facilitator,
    }


def _session_part(session: RoundtableSession) -> tuple[dict[str, Any], Poll | None]:
    """What every snapshot of the session holds alike (its poll without anyone's vote)."""
    poll = current_poll(session.id)
    data: dict[str, Any] = {
        **payloads.session_state_payload(session),
        "title": session.title,
        "themes": published_theme_payloads(session),
        "poll": None,
    }
    if poll is not None:
        data["poll"] = {**payloads.poll_payload(poll), "tally": polls.live_tally(poll)}
    return data, poll


def snapshot(
    session: RoundtableSession, participant: Participant | None, *, staff: bool = False
) -> dict[str, Any]:
    """Everything a (re)connecting client needs: phase and timer, its table's recent chat and
    ideas, the published themes, the open (or latest) poll with its tally and the caller's vote.
    """
    data, poll = _session_part(session)
    table_id = participant.table_id if participant else None
    data["seat"] = seat_payload(participant)
    data["chat"] = recent_chat(session.id, table_id) if table_id else []
    data["ideas"] = table_ideas(session, table_id) if table_id else []
    if poll is not None:
        data["poll"] = {**data["poll"], "my_vote": polls.my_vote(poll, participant)}
    if staff or participant is None:  # the console and the projector
        data["participation"] = hybrid.participation(session.id)
    if staff:
        data["console"] = console_overview(session)
    return data


def seat_snapshots(
    session: RoundtableSession, participant_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """`snapshot` of many participants at once, by participant id, as the seating pushes
    them: a fixed number of queries however many people and tables, where one `join` each
    costs eight (10,000 at once after the room is seated)."""
    ids = list(participant_ids)
    shared, poll = _session_part(session)
    people = [
        person
        for chunk in range(0, len(ids), IN_CHUNK)
        for person in db.session.scalars(
            select(Participant).where(
                Participant.session_id == session.id,
                Participant.id.in_(ids[chunk : chunk + IN_CHUNK]),
            )
        )
    ]
    tables = {t.id: t for t in session_tables(session.id)}
    table_ids = {p.table_id for p in people if p.table_id is not None}
    facilitators = table_facilitator_names(session.id)
    chat = recent_chat_by_table(session.id, table_ids)
    ideas = ideas_by_table(session, table_ids)
    votes: dict[int, dict[str, Any]] = {}
    if poll is not None:
        for chunk in range(0, len(ids), IN_CHUNK):
            votes |= polls.my_votes(poll, ids[chunk : chunk + IN_CHUNK])
    snapshots = {}
    for person in people:
        table = tables.get(person.table_id) if person.table_id is not None else None
        data = {
            **shared,
            "seat": _seat(person, table, facilitators.get(table.id) if table else None),
            "chat": chat.get(person.table_id, []),
            "ideas": ideas.get(person.table_id, []),
        }
        if poll is not None:
            data["poll"] = {**shared["poll"], "my_vote": votes.get(person.id)}
        snapshots[person.id] = data
    return snapshots


def table_facilitator_names(session_id: int) -> dict[int, str]:
    """Each table's facilitator as the room shows it (the first, if several), in one query."""
    names: dict[int, str] = {}
    for table_id, name in db.session.execute(
        select(Participant.table_id, User.display_name)
        .join(User, User.id == Participant.user_id)
        .where(
            Participant.session_id == session_id,
            Participant.table_id.is_not(None),
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
        .order_by(Participant.id)
    ):
        names.setdefault(table_id, name)
    return names


def recent_chat_by_table(
    session_id: int, table_ids: Collection[int], limit: int = RECENT_CHAT
) -> dict[int, list[dict[str, Any]]]:
    """`recent_chat` of many tables in one query (each table's newest `limit`, oldest first)."""
    if not table_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=ChatMessage.table_id, order_by=ChatMessage.id.desc())
        .label("rank")
    )
    newest = (
        select(ChatMessage.id, rank)
        .where(ChatMessage.session_id == session_id, ChatMessage.table_id.in_(table_ids))
        .subquery()
    )
    chat: dict[int, list[dict[str, Any]]] = {}
    for message, author in db.session.execute(
        select(ChatMessage, User.display_name)
        .join(newest, newest.c.id == ChatMessage.id)
        .join(User, User.id == ChatMessage.author_id)
        .where(newest.c.rank <= limit)
        .order_by(ChatMessage.id)
    ):
        chat.setdefault(message.table_id, []).append(
            payloads.chat_fields(
                message.id,
                message.table_id,
                message.client_id,
                author,
                message.author_id,
                message.body,
                message.created_at,
            )  # fmt: skip
        )
    return chat


def console_overview(session: RoundtableSession) -> dict[str, Any]:
    """All tables at a glance for the lead: seated, facilitator, messages in the last minute,
    when the table last chatted or wrote an idea, ideas drafted and submitted, help; and the
    room's counts (registered, seated, facilitators) and the poll's eligible voters.

    A fixed number of grouped queries however many tables (100 tables, 1,000 people): the
    console asks for it every two seconds while the session runs."""
    tables = session_tables(session.id)
    roles: dict[tuple[Any, bool], int] = {}
    seated: dict[int | None, int] = {}
    on_paper: dict[int | None, int] = {}
    for role, table_id, takes_part, count in db.session.execute(
        select(
            Participant.role,
            Participant.table_id,
            Participant.takes_part,
            func.count(Participant.id),
        )
        .where(Participant.session_id == session.id)
        .group_by(Participant.role, Participant.table_id, Participant.takes_part)
    ):
        key = (role, table_id is not None)
        roles[key] = roles.get(key, 0) + count
        if role == ParticipantRole.PARTICIPANT:
            seated[table_id] = seated.get(table_id, 0) + count
            if takes_part == TakesPart.PAPER:
                on_paper[table_id] = on_paper.get(table_id, 0) + count
    facilitators: dict[int | None, list[str]] = {}
    for table_id, name in db.session.execute(
        select(Participant.table_id, User.display_name)
        .join(User, User.id == Participant.user_id)
        .where(
            Participant.session_id == session.id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
        .order_by(Participant.id)
    ):
        facilitators.setdefault(table_id, []).append(name)
    now = utcnow()
    since = now - timedelta(minutes=1)
    chat = {
        table_id: (recent, last)
        for table_id, recent, last in db.session.execute(
            select(
                ChatMessage.table_id,
                func.count(ChatMessage.id).filter(ChatMessage.created_at >= since),
                func.max(ChatMessage.created_at),
            )
            .where(ChatMessage.session_id == session.id)
            .group_by(ChatMessage.table_id)
        )
    }
    ideas = {
        table_id: (submitted, drafted, last)
        for table_id, submitted, drafted, last in db.session.execute(
            select(
                Idea.table_id,
                func.count(Idea.id).filter(Idea.submitted_at.is_not(None)),
                func.count(Idea.id).filter(Idea.submitted_at.is_(None)),
                func.max(func.coalesce(Idea.submitted_at, Idea.created_at)),
            )
            .where(Idea.session_id == session.id, Idea.round_no == session.round_no)
            .group_by(Idea.table_id)
        )
    }
    rows = []
    for t in tables:
        recent, last_chat = chat.get(t.id, (0, None))
        submitted, drafted, last_idea = ideas.get(t.id, (0, 0, None))
        moments = [as_utc(m) for m in (last_chat, last_idea) if m is not None]
        rows.append(
            {
                "id": t.id,
                "number": t.number,
                "kind": t.kind.value,
                "kind_label": t.kind.label,
                #: everyone at the table, its facilitator included: the same people
                #: `connected` counts (events.EventsNamespace._with_connected)
                "seated": seated.get(t.id, 0) + len(facilitators.get(t.id, [])),
                #: the seated participants alone (those who vote)
                "participants": seated.get(t.id, 0),
                #: of them, those entered on paper: they have no device, so they are never
                #: connected and a table of them is not missing anyone
                "on_paper": on_paper.get(t.id, 0),
                "facilitators": facilitators.get(t.id, []),
                "no_facilitator": not facilitators.get(t.id),
                "messages_last_minute": recent,
                "ideas_submitted": submitted,
                "ideas_drafted": drafted,
                #: the table's last chat message or idea (None: silent since the start)
                "last_activity_at": max(moments).isoformat() if moments else None,
                "help": t.help_requested_at is not None,
            }
        )
    registered = participant_counts(session.id)
    return {
        "tables": rows,
        "unseated": seated.get(None, 0),
        "registered": registered,
        "counts": {
            "registered": sum(registered.values()),
            "participants": registered.get(ParticipantRole.PARTICIPANT.value, 0),
            # only seated participants vote (polls.may_vote): the turnout's denominator
            "seated": roles.get((ParticipantRole.PARTICIPANT, True), 0),
            "facilitators": registered.get(ParticipantRole.TABLE_FACILITATOR.value, 0),
            "theme_team": registered.get(ParticipantRole.THEME_TEAM.value, 0),
            "tables": len(tables),
            "tables_without_facilitator": sum(1 for row in rows if row["no_facilitator"]),
            # who at the tables can be connected (facilitators too; not paper participants):
            # what the room's `connected` count (added by the socket layer) compares with
            "with_device": sum(row["seated"] - row["on_paper"] for row in rows),
        },
        "participation": hybrid.participation(session.id),
        "server_now": as_utc(now).isoformat(),
        "threshold_percent": session.threshold_percent,
        "rule": session.pass_rule.value,
        "submitted_ideas": submitted_ideas(session),
        "themes": [team_theme_payload(session, t) for t in current_themes(session)],
        "broadcasts": recent_broadcasts(session.id),
    }


#: How many of the lead's broadcasts the console lists after a reload (newest first).
CONSOLE_BROADCASTS = 20


def recent_broadcasts(session_id: int, limit: int = CONSOLE_BROADCASTS) -> list[dict[str, Any]]:
    """The session's latest broadcasts, newest first: the console's history survives a reload."""
    found = db.session.scalars(
        select(Broadcast)
        .where(Broadcast.session_id == session_id)
        .order_by(Broadcast.id.desc())
        .limit(limit)
    )
    return [payloads.broadcast_payload(b) for b in found]


def submitted_ideas(session: RoundtableSession) -> list[dict[str, Any]]:
    ideas = db.session.scalars(
        select(Idea)
        .where(
            Idea.session_id == session.id,
            Idea.round_no == session.round_no,
            Idea.submitted_at.is_not(None),
        )
        .order_by(Idea.id)
    )
    return [payloads.idea_payload(i) for i in ideas]


def session_record(session: RoundtableSession) -> dict[str, Any]:
    """The public record after close: tables, ideas by round, themes, polls and tallies."""
    tables = session_tables(session.id)
    ideas = list(
        db.session.scalars(
            select(Idea)
            .where(Idea.session_id == session.id, Idea.submitted_at.is_not(None))
            .order_by(Idea.round_no, Idea.table_id, Idea.id)
        )
    )
    themes = list(
        db.session.scalars(
            select(Theme)
            .where(Theme.session_id == session.id, Theme.merged_into_id.is_(None))
            .order_by(Theme.round_no, Theme.id)
        )
    )
    session_polls = results.session_polls([session.id])
    tallies = polls.poll_tallies(session_polls)
    support = results.support_in(session_polls, tallies)
    passing = results.passing_in(session_polls, tallies)
    return {
        "tables": len(tables),
        "participants": participant_counts(session.id).get("participant", 0),
        "participation": hybrid.participation(session.id),
        "ideas": ideas,
        "themes": [(t, support.get(t.id), t.id in passing) for t in themes],
        "rule_text": session.rule_text(),
        "polls": [(p, tallies[p.id]) for p in session_polls],
        "closed_at": as_utc(session.closed_at),
        "agenda_items": session.agenda_items,
    }


def linkable_items_by_division(limit: int = 500) -> list[tuple[Division, list[AgendaItem]]]:
    """Open agenda items of the active divisions, grouped by division, for the session form."""
    items = db.session.scalars(
        select(AgendaItem)
        .join(Division, Division.id == AgendaItem.division_id)
        .where(AgendaItem.state.in_(sessions.LINKABLE_ITEM_STATES), Division.is_active.is_(True))
        .order_by(Division.id, AgendaItem.created_at.desc(), AgendaItem.id.desc())
        .limit(limit)
    )
    groups: dict[int, tuple[Division, list[AgendaItem]]] = {}
    for item in items:
        groups.setdefault(item.division_id, (item.division, []))[1].append(item)
    return list(groups.values())


def sessions_for_item(item_id: int) -> list[tuple[RoundtableSession, bool]]:
    """Sessions about an agenda item (linked to it), and the session a theme that became the
    item came from; each with True when it is that origin."""
    linked = select(session_agenda_items.c.session_id).where(
        session_agenda_items.c.agenda_item_id == item_id
    )
    origin = select(Theme.session_id).where(Theme.agenda_item_id == item_id)
    rows = db.session.execute(
        select(RoundtableSession, RoundtableSession.id.in_(origin).label("origin"))
        .where(or_(RoundtableSession.id.in_(linked), RoundtableSession.id.in_(origin)))
        .order_by(RoundtableSession.starts_at, RoundtableSession.id)
    )
    return [(session, bool(is_origin)) for session, is_origin in rows]


PEOPLE_PER_PAGE = 50


def people_page(
    session: RoundtableSession,
    *,
    name: str = "",
    table_id: int | None = None,
    role: ParticipantRole | None = None,
    category: MemberCategory | None = None,
    user_ids: set[int] | None = None,
    page: int = 1,
):
    """The people page: everyone registered (paper participants too, by the name their
    facilitator wrote down), found by name and filtered by table (0: no table), role, member
    category or a set of people (those connected), 50 a page."""
    shown_name = func.coalesce(User.display_name, Participant.display_name)
    query = (
        select(Participant)
        .outerjoin(User, User.id == Participant.user_id)
        .where(Participant.session_id == session.id)
    )
    if name.strip():
        query = query.where(shown_name.icontains(name.strip(), autoescape=True))
    if table_id == 0:
        query = query.where(Participant.table_id.is_(None))
    elif table_id is not None:
        query = query.where(Participant.table_id == table_id)
    if role is not None:
        query = query.where(Participant.role == role)
    if category is not None:
        query = query.where(Participant.member_category == category)
    if user_ids is not None:
        query = query.where(Participant.user_id.in_(user_ids))
    query = query.order_by(shown_name, Participant.id)
    return db.paginate(query, page=page, per_page=PEOPLE_PER_PAGE, error_out=False)
