"""What a roundtable's results show (reads only): theme support from the room polls, and what
an agenda item's consensus summary shows of the roundtables about it. The writes at close
(passing themes adopted) are in `adoption`.

Tallies come from `polls.poll_tallies` (one query however many polls), so a results page or
a summary does not query once per poll and counts exactly as the live tally does.
"""

from collections.abc import Iterable
from typing import Any

from flask import url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from deliberation.db import as_utc
from deliberation.extensions import db
from deliberation.roundtables.models import (
    Poll,
    PollKind,
    PollState,
    RoundtableSession,
    SessionState,
    Theme,
    session_agenda_items,
)
from deliberation.roundtables.payloads import results_path
from deliberation.roundtables.polls import option_support, poll_tallies

#: Session states whose polls and themes an agenda item's summary shows.
SUMMARY_STATES = (SessionState.RUNNING, SessionState.CLOSED)


# --- support for themes --------------------------------------------------------------------


def support_in(polls: Iterable[Poll], tallies: dict[int, dict[str, Any]]) -> dict[int, float]:
    """Each theme's best share (percent of a poll's votes) across closed theme polls."""
    support: dict[int, float] = {}
    for poll in polls:
        tally = tallies[poll.id]
        if poll.state != PollState.CLOSED or poll.kind == PollKind.QUESTION or not tally["total"]:
            continue
        for option in poll.options:
            if option.theme_id is None:
                continue
            count = option_support(tally, option.id)
            share = 100.0 * count / tally["total"]
            support[option.theme_id] = max(support.get(option.theme_id, 0.0), share)
    return support


def passing_in(polls: Iterable[Poll], tallies: dict[int, dict[str, Any]]) -> set[int]:
    """The themes that pass the session's rule in at least one closed theme poll (the tallies
    carry `passes` from `polls.judge_tally`)."""
    passing: set[int] = set()
    for poll in polls:
        tally = tallies[poll.id]
        if poll.state != PollState.CLOSED or poll.kind == PollKind.QUESTION:
            continue
        for option in poll.options:
            if option.theme_id is not None and tally.get("passes", {}).get(str(option.id)):
                passing.add(option.theme_id)
    return passing


def session_polls(session_ids: list[int]) -> list[Poll]:
    """The polls of these sessions with their options, oldest first, in one query."""
    if not session_ids:
        return []
    return list(
        db.session.scalars(
            select(Poll)
            .where(Poll.session_id.in_(session_ids))
            .options(joinedload(Poll.options))
            .order_by(Poll.id)
        ).unique()
    )


def theme_support(session: RoundtableSession) -> dict[int, float]:
    """Each theme's best support (percent of votes) across the session's closed polls."""
    return theme_outcomes(session)[0]


def theme_outcomes(session: RoundtableSession) -> tuple[dict[int, float], set[int]]:
    """Each theme's best support (percent of votes) across the session's closed polls, and
    the themes that pass the session's rule."""
    polls = [p for p in session_polls([session.id]) if p.kind != PollKind.QUESTION]
    tallies = poll_tallies(polls)
    return support_in(polls, tallies), passing_in(polls, tallies)


def close_summary(
    session: RoundtableSession, made_items: list[Any], made_proposals: list[Any]
) -> dict[str, Any]:
    """What the lead sees on closing: every theme with its best support and whether it passed
    the session's rule, what it became (agenda item or proposal, with links), and the link to
    the public results."""
    support, passing = theme_outcomes(session)
    themes = db.session.scalars(
        select(Theme)
        .where(Theme.session_id == session.id, Theme.merged_into_id.is_(None))
        .order_by(Theme.round_no, Theme.id)
    )

    def became(theme: Theme) -> dict[str, Any] | None:
        if theme.agenda_item_id:
            url = url_for("agendas.show_item", item_id=theme.agenda_item_id)
            return {"kind": "agenda_item", "id": theme.agenda_item_id, "url": url}
        if theme.proposal_id:
            url = url_for("proposals.detail", proposal_id=theme.proposal_id)
            return {"kind": "proposal", "id": theme.proposal_id, "url": url}
        return None

    return {
        "results_url": results_path(session.id),
        "threshold_percent": session.threshold_percent,
        "rule": session.pass_rule.value,
        "themes": [
            {
                "id": theme.id,
                "name": theme.name,
                "support_percent": round(support[theme.id], 1) if theme.id in support else None,
                "passed": theme.id in passing,
                "became": became(theme),
            }
            for theme in themes
        ],
        "agenda_items": [
            {"id": i.id, "title": i.title, "url": url_for("agendas.show_item", item_id=i.id)}
            for i in made_items
        ],
        "proposals": [
            {"id": p.id, "title": p.title, "url": url_for("proposals.detail", proposal_id=p.id)}
            for p in made_proposals
        ],
    }


def theme_tables(theme: Theme) -> list[int]:
    """The numbers of the tables a theme's ideas came from."""
    return sorted({idea.table.number for idea in theme.ideas if idea.table})


# --- roundtables in an agenda item's consensus summary -------------------------------------


def iso_or_none(moment: Any) -> str | None:
    """A moment as ISO 8601 in UTC, or None."""
    moment = as_utc(moment)
    return moment.isoformat() if moment else None


def _poll_entry(poll: Poll, tally: dict[str, Any] | None) -> dict[str, Any]:
    """A poll in the summary: counts only once it has closed (`tally` None while it is open,
    since a running count is not a result and its changes could be matched to people)."""
    counted = tally is not None and poll.state == PollState.CLOSED
    categories = list(tally["by_category"]) if counted else []
    return {
        "poll_id": poll.id,
        "question": poll.question,
        "kind": poll.kind.value,
        "state": poll.state.value,
        "round": poll.round_no,
        "total": tally["total"] if counted else None,
        "categories": categories,
        "small_groups": tally["small_groups"] if counted else None,
        "options": [
            {
                "option_id": option.id,
                "label": option.label,
                "theme_id": option.theme_id,
                "all": tally["counts"][str(option.id)] if counted else None,
                "by_category": {c: tally["by_category"][c][str(option.id)] for c in categories},
            }
            for option in poll.options
        ],
        "source": results_path(poll.session_id, f"poll-{poll.id}"),
    }


def _theme_entry(
    theme: Theme, support: float | None, item_id: int, passed: bool = False
) -> dict[str, Any]:
    return {
        "theme_id": theme.id,
        "name": theme.name,
        "description": theme.description,
        "round": theme.round_no,
        "support_percent": round(support, 1) if support is not None else None,
        "passed": passed,
        "tables": theme_tables(theme),
        "ideas": [
            {"table": idea.table.number, "round": idea.round_no, "text": idea.body}
            for idea in theme.ideas
        ],
        "agenda_item_id": theme.agenda_item_id,
        "proposal_id": theme.proposal_id,
        "became_this_item": theme.agenda_item_id == item_id,
        "source": results_path(theme.session_id, f"theme-{theme.id}"),
    }


def item_results(item_id: int) -> list[dict[str, Any]]:
    """The roundtables about an agenda item, for its consensus summary: every running or
    closed session linked to it, and the session of every theme that became it, with their
    polls (tallies overall and by member category, closed polls only; small categories
    combined) and themes (with table origins).

    Counts only, never who voted. One query when no roundtable concerns the item; otherwise
    at most four (sessions; themes with their ideas; polls with their options; the votes of
    the closed polls counted), however many sessions, polls, themes and votes there are.
    """
    linked = select(session_agenda_items.c.session_id).where(
        session_agenda_items.c.agenda_item_id == item_id
    )
    origin = select(Theme.session_id).where(Theme.agenda_item_id == item_id)
    sessions = db.session.execute(
        select(RoundtableSession, RoundtableSession.id.in_(linked).label("linked"))
        .where(
            RoundtableSession.state.in_(SUMMARY_STATES),
            or_(RoundtableSession.id.in_(linked), RoundtableSession.id.in_(origin)),
        )
        .order_by(RoundtableSession.starts_at, RoundtableSession.id)
    ).all()
    if not sessions:
        return []
    session_ids = [session.id for session, _linked in sessions]
    themes = list(
        db.session.scalars(
            select(Theme)
            .where(Theme.session_id.in_(session_ids), Theme.merged_into_id.is_(None))
            .options(joinedload(Theme.ideas))  # and each idea's table: one query in all
            .order_by(Theme.round_no, Theme.id)
        ).unique()
    )
    polls = session_polls(session_ids)
    # A session linked to the item shows everything; a session only known because one of its
    # themes became this item shows that theme and the polls it was on.
    is_linked = {session.id: bool(flag) for session, flag in sessions}
    own_themes = {t.id for t in themes if t.agenda_item_id == item_id}
    themes = [t for t in themes if is_linked[t.session_id] or t.id in own_themes]
    polls = [
        p
        for p in polls
        if is_linked[p.session_id] or any(o.theme_id in own_themes for o in p.options)
    ]
    # Only closed polls are counted: an open poll is listed, without figures.
    closed = [p for p in polls if p.state == PollState.CLOSED]
    tallies = poll_tallies(closed)
    support = support_in(closed, tallies)
    passing = passing_in(closed, tallies)
    return [
        {
            "session_id": session.id,
            "title": session.title,
            "state": session.state.value,
            "starts_at": iso_or_none(session.starts_at),
            "closed_at": iso_or_none(session.closed_at),
            "linked": is_linked[session.id],
            "threshold_percent": session.threshold_percent,
            "rule": session.pass_rule.value,
            "source": results_path(session.id),
            "polls": [
                _poll_entry(p, tallies.get(p.id)) for p in polls if p.session_id == session.id
            ],
            "themes": [
                _theme_entry(t, support.get(t.id), item_id, t.id in passing)
                for t in themes
                if t.session_id == session.id
            ],
        }
        for session, _flag in sessions
    ]
