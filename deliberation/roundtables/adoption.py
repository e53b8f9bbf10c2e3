"""What a roundtable's passing themes become when it closes: agenda items in its division or
proposals in the officials' queue, each carrying its table origins and its support."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from deliberation.agendas.models import AgendaItem
from deliberation.core import audit
from deliberation.core.sanitize import markdown_literal
from deliberation.extensions import db
from deliberation.proposals.models import Proposal
from deliberation.proposals.services import create_proposal
from deliberation.roundtables.models import (
    Participant,
    Poll,
    RoundtableSession,
    Theme,
    ThemeDestination,
)
from deliberation.roundtables.polls import poll_tallies
from deliberation.roundtables.results import (
    iso_or_none,
    passing_in,
    results_path,
    session_polls,
    support_in,
    theme_tables,
)

#: Where a proposal made from a theme says it came from (Proposal.source_kind).
PROPOSAL_SOURCE_KIND = "roundtable-theme"


@dataclass
class Adoption:
    """What a session's passing themes became when it closed."""

    items: list[AgendaItem] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)


def adopt_passing_themes(session: RoundtableSession) -> Adoption:
    """Themes that pass the session's rule (`RoundtableSession.passes`) become agenda items
    in its division, or proposals in the officials' queue (the session's
    `theme_destination`); each carries its table origins and support. A theme already
    adopted is left alone."""
    adoption = Adoption()
    polls = session_polls([session.id])
    tallies = poll_tallies(polls)
    support = support_in(polls, tallies)
    passing = passing_in(polls, tallies)
    themes = list(
        db.session.scalars(
            select(Theme)
            .where(Theme.session_id == session.id, Theme.merged_into_id.is_(None))
            .order_by(Theme.id)
        )
    )
    destination = THEME_DESTINATIONS[session.theme_destination]
    for theme in themes:
        share = support.get(theme.id)
        if share is None or theme.id not in passing:
            continue
        if theme.agenda_item_id or theme.proposal_id:
            continue
        made = destination(session, theme, share, polls, tallies)
        if isinstance(made, Proposal):
            adoption.proposals.append(made)
        else:
            adoption.items.append(made)
    return adoption


def session_language(session: RoundtableSession) -> str:
    """The language a session's generated texts are written in: its lead's, whoever closes it
    (the lead, an admin, or the timer with no person behind it)."""
    language = session.lead.preferred_language if session.lead else None
    return language if language in current_app.config["LANGUAGES"] else "en"


def _theme_text(session: RoundtableSession, theme: Theme, share: float) -> str:
    """The body (Markdown) of the item or proposal a theme becomes: description, origins, the
    ideas, in the session's language. People's plain text goes in as `markdown_literal`, so it
    shows exactly as typed."""
    with force_locale(session_language(session)):
        return _theme_lines(session, theme, share)


def _theme_lines(session: RoundtableSession, theme: Theme, share: float) -> str:
    tables = theme_tables(theme)
    title = markdown_literal(session.title)
    lines = [
        markdown_literal(theme.description),
        "",
        _("From the roundtable “%(title)s”.", title=title),
    ]
    lines.append(_("Support in the room poll: %(share).0f%%.", share=share))
    if tables:
        lines.append(_("Tables: %(tables)s.", tables=", ".join(str(n) for n in tables)))
    lines.append("")
    for idea in theme.ideas:
        # one list item per idea: its lines stay lines of the item (a blank one would end it)
        text = "\n".join(line for line in markdown_literal(idea.body).split("\n") if line)
        lines.append(f"- {text} " + _("(table %(n)s)", n=idea.table.number))
    return "\n".join(lines).strip()


def _theme_to_agenda_item(
    session: RoundtableSession, theme: Theme, share: float, _polls: list[Poll], _tallies: dict
) -> AgendaItem:
    item = AgendaItem(
        division_id=session.division_id,
        author_id=None,
        title=theme.name[:200],
        body=_theme_text(session, theme, share),
        attribution=_("Roundtable session %(id)d, theme %(theme)d", id=session.id, theme=theme.id),
    )
    db.session.add(item)
    db.session.flush()
    theme.agenda_item_id = item.id
    audit.record("roundtable.theme_adopted", "agenda_item", item.id, theme=theme.id)
    return item


def _theme_to_proposal(
    session: RoundtableSession,
    theme: Theme,
    share: float,
    polls: list[Poll],
    tallies: dict[int, dict[str, Any]],
) -> Proposal:
    tables = theme_tables(theme)
    proposal = create_proposal(
        title=theme.name,
        summary=_theme_text(session, theme, share),
        snapshot=theme_snapshot(session, theme, share, polls, tallies),
        division_id=session.division_id,
        source_kind=PROPOSAL_SOURCE_KIND,
        source_ref=str(theme.id),
        follower_ids=_people_at_tables(session.id, {i.table_id for i in theme.ideas}),
    )
    theme.proposal_id = proposal.id
    audit.record(
        "roundtable.theme_proposed", "proposal", proposal.id, theme=theme.id, tables=tables
    )
    return proposal


def _people_at_tables(session_id: int, table_ids: set[int]) -> set[int]:
    """Who sat at these tables: they follow the proposal their tables' ideas became."""
    if not table_ids:
        return set()
    return set(
        db.session.scalars(
            select(Participant.user_id).where(
                Participant.session_id == session_id,
                Participant.table_id.in_(table_ids),
                Participant.user_id.is_not(None),  # paper participants have no login
            )
        )
    )


def theme_snapshot(
    session: RoundtableSession,
    theme: Theme,
    share: float,
    polls: list[Poll],
    tallies: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """What a proposal made from a theme freezes: the theme, its origins and its support in
    every room poll it was on, overall and by member category (counts only, small categories
    combined as in every published tally)."""
    theme_polls = []
    for poll in polls:
        option = next((o for o in poll.options if o.theme_id == theme.id), None)
        if option is None:
            continue
        tally, key = tallies[poll.id], str(option.id)
        theme_polls.append(
            {
                "poll_id": poll.id,
                "question": poll.question,
                "kind": poll.kind.value,
                "round": poll.round_no,
                "total": tally["total"],
                "counts": tally["counts"][key],
                # already under the small-group rule: small categories are "other" or absent
                "by_category": {
                    category: counts[key] for category, counts in tally["by_category"].items()
                },
                "small_groups": tally["small_groups"],
            }
        )
    return {
        "kind": PROPOSAL_SOURCE_KIND,
        "roundtable": {
            "session_id": session.id,
            "title": session.title,
            "closed_at": iso_or_none(session.closed_at),
            "threshold_percent": session.threshold_percent,
            "rule": session.pass_rule.value,
            "source": results_path(session.id),
        },
        "theme": {
            "id": theme.id,
            "name": theme.name,
            "description": theme.description,
            "round": theme.round_no,
            "support_percent": round(share, 1),
            "tables": theme_tables(theme),
            "ideas": [
                {"table": idea.table.number, "round": idea.round_no, "text": idea.body}
                for idea in theme.ideas
            ],
        },
        "polls": theme_polls,
    }


Destination = Callable[
    [RoundtableSession, Theme, float, list[Poll], dict[int, dict[str, Any]]],
    AgendaItem | Proposal,
]


#: Where a passing theme goes, by the session's option.
THEME_DESTINATIONS: dict[ThemeDestination, Destination] = {
    ThemeDestination.AGENDA_ITEM: _theme_to_agenda_item,
    ThemeDestination.PROPOSAL: _theme_to_proposal,
}
