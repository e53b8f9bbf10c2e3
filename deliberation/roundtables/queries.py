"""Reads about roundtable sessions that pages and sockets share: snapshots, console, results."""

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from deliberation.accounts.models import Division
from deliberation.agendas.models import AgendaItem
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.roundtables import payloads, polls, results, sessions
from deliberation.roundtables.models import (
    ChatMessage,
    Idea,
    Participant,
    ParticipantRole,
    Poll,
    PollState,
    RoundtableSession,
    SessionState,
    Theme,
    session_agenda_items,
)
from deliberation.roundtables.tables import session_tables
from deliberation.roundtables.themes import current_themes, team_theme_payload

RECENT_CHAT = 50


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
    ideas = db.session.scalars(
        select(Idea)
        .where(Idea.table_id == table_id, Idea.round_no == session.round_no)
        .order_by(Idea.id)
    )
    return [payloads.idea_payload(i) for i in ideas]


def open_poll(session_id: int) -> Poll | None:
    return db.session.scalar(
        select(Poll)
        .where(Poll.session_id == session_id, Poll.state == PollState.OPEN)
        .order_by(Poll.id.desc())
    )


def latest_poll(session_id: int) -> Poll | None:
    return db.session.scalar(
        select(Poll).where(Poll.session_id == session_id).order_by(Poll.id.desc())
    )


def seat_payload(participant: Participant | None) -> dict[str, Any] | None:
    if participant is None:
        return None
    table = participant.table
    return {
        "participant_id": participant.id,
        "role": participant.role.value,
        "votes": participant.may_vote,
        "table_id": table.id if table else None,
        "table_number": table.number if table else None,
        "facilitator": table_facilitator_name(participant.session_id, table.id) if table else None,
    }


def table_facilitator_name(session_id: int, table_id: int) -> str | None:
    """The name the room shows as its table's facilitator (the first, if several)."""
    facilitator = db.session.scalar(
        select(Participant)
        .where(
            Participant.session_id == session_id,
            Participant.table_id == table_id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
        .order_by(Participant.id)
        .limit(1)
    )
    return facilitator.user.display_name if facilitator else None


def snapshot(
    session: RoundtableSession, participant: Participant | None, *, staff: bool = False
) -> dict[str, Any]:
    """Everything a (re)connecting client needs: phase and timer, its table's recent chat and
    ideas, the published themes, the open (or latest) poll with its tally and the caller's vote.
    """
    poll = open_poll(session.id) or latest_poll(session.id)
    table_id = participant.table_id if participant else None
    data: dict[str, Any] = {
        **payloads.session_state_payload(session),
        "title": session.title,
        "seat": seat_payload(participant),
        "chat": recent_chat(session.id, table_id) if table_id else [],
        "ideas": table_ideas(session, table_id) if table_id else [],
        "themes": [payloads.theme_payload(t) for t in current_themes(session, published_only=True)],
        "poll": None,
    }
    if poll is not None:
        data["poll"] = {
            **payloads.poll_payload(poll),
            "tally": polls.poll_tally(poll),
            "my_vote": polls.my_vote(poll, participant),
        }
    if staff:
        data["console"] = console_overview(session)
    return data


def console_overview(session: RoundtableSession) -> dict[str, Any]:
    """All tables at a glance for the lead: seated, facilitator, recent messages, ideas, help."""
    tables = session_tables(session.id)
    seated = dict(
        db.session.execute(
            select(Participant.table_id, func.count(Participant.id))
            .where(
                Participant.session_id == session.id,
                Participant.role == ParticipantRole.PARTICIPANT,
            )
            .group_by(Participant.table_id)
        ).all()
    )
    facilitators: dict[int | None, list[str]] = {}
    for participant in db.session.scalars(
        select(Participant).where(
            Participant.session_id == session.id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
    ):
        facilitators.setdefault(participant.table_id, []).append(participant.user.display_name)
    since = utcnow() - timedelta(minutes=1)
    messages = dict(
        db.session.execute(
            select(ChatMessage.table_id, func.count(ChatMessage.id))
            .where(ChatMessage.session_id == session.id, ChatMessage.created_at >= since)
            .group_by(ChatMessage.table_id)
        ).all()
    )
    ideas = dict(
        db.session.execute(
            select(Idea.table_id, func.count(Idea.id))
            .where(
                Idea.session_id == session.id,
                Idea.round_no == session.round_no,
                Idea.submitted_at.is_not(None),
            )
            .group_by(Idea.table_id)
        ).all()
    )
    return {
        "tables": [
            {
                "id": t.id,
                "number": t.number,
                "seated": seated.get(t.id, 0),
                "facilitators": facilitators.get(t.id, []),
                "no_facilitator": not facilitators.get(t.id),
                "messages_last_minute": messages.get(t.id, 0),
                "ideas_submitted": ideas.get(t.id, 0),
                "help": t.help_requested_at is not None,
            }
            for t in tables
        ],
        "unseated": seated.get(None, 0),
        "registered": participant_counts(session.id),
        "submitted_ideas": submitted_ideas(session),
        "themes": [team_theme_payload(session, t) for t in current_themes(session)],
    }


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
    return {
        "tables": len(tables),
        "participants": participant_counts(session.id).get("participant", 0),
        "ideas": ideas,
        "themes": [(t, support.get(t.id)) for t in themes],
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
