"""The theme team's work: grouping submitted ideas into themes, renaming, merging, publishing
them to the room for the poll."""

from difflib import SequenceMatcher
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import lazyload

from deliberation.accounts.models import User
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, NotFound
from deliberation.core.realtime import emit_after_commit
from deliberation.core.sanitize import plain_text
from deliberation.extensions import db
from deliberation.roundtables import permissions
from deliberation.roundtables.models import (
    Idea,
    Participant,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    Theme,
)
from deliberation.roundtables.payloads import theme_payload
from deliberation.roundtables.rooms import NAMESPACE, session_room, staff_room

THEME_NAME_MAX = 200
THEME_DESCRIPTION_MAX = 2000
#: How alike (difflib ratio) a theme's name and a linked agenda item's title must be for the
#: theme team to be warned that the poll would make a second item on the same subject.
SIMILAR_NAME_RATIO = 0.8


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


def similar_agenda_item(session: RoundtableSession, name: str) -> dict[str, Any] | None:
    """The agenda item linked to the session whose title is close to a theme's name, if any."""
    wanted = " ".join(name.casefold().split())
    best, best_ratio = None, 0.0
    for item in session.agenda_items:
        ratio = SequenceMatcher(None, wanted, " ".join(item.title.casefold().split())).ratio()
        if ratio >= SIMILAR_NAME_RATIO and ratio > best_ratio:
            best, best_ratio = item, ratio
    return None if best is None else {"id": best.id, "title": best.title}


def team_theme_payload(session: RoundtableSession, theme: Theme) -> dict[str, Any]:
    """A theme as the theme team sees it: with a warning when it repeats a linked agenda item."""
    return {**theme_payload(theme), "similar_item": similar_agenda_item(session, theme.name)}


def _saved(session: RoundtableSession, theme: Theme) -> dict[str, Any]:
    """A created or edited theme, written and re-read (its ideas changed), sent to the staff."""
    db.session.flush()
    db.session.refresh(theme)
    payload = team_theme_payload(session, theme)
    emit_after_commit("theme", payload, to=staff_room(session.id), namespace=NAMESPACE)
    return payload


def _submitted_idea(session: RoundtableSession, idea_id: int) -> Idea:
    return _submitted_ideas(session, [idea_id])[0]


def add_idea_to_theme(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    theme_id: int,
    idea_id: int,
) -> list[dict[str, Any]]:
    """Put one submitted idea into a theme (moving it out of another theme if it was in one).

    Returns every theme that changed: the one it joined and the one it left, if any.
    """
    permissions.require_theme_team(actor, session, participant)
    theme = _get_theme(session, theme_id)
    idea = _submitted_idea(session, idea_id)
    if idea.theme_id == theme.id:
        raise DomainError(_("The idea is in this theme already."), code="already_in_theme")
    left = db.session.get(Theme, idea.theme_id) if idea.theme_id else None
    idea.theme_id = theme.id
    audit.record(
        "roundtable.theme_idea_add", "roundtable_theme", theme.id, actor_id=actor.id,
        idea=idea.id, from_theme=left.id if left else None,
    )  # fmt: skip
    changed = [_saved(session, theme)]
    if left is not None:
        changed.append(_saved(session, left))
    return changed


def remove_idea_from_theme(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    theme_id: int,
    idea_id: int,
) -> dict[str, Any]:
    """Take an idea out of a theme: it goes back to the ideas waiting for a theme."""
    permissions.require_theme_team(actor, session, participant)
    theme = _get_theme(session, theme_id)
    idea = _submitted_idea(session, idea_id)
    if idea.theme_id != theme.id:
        raise DomainError(_("The idea is not in this theme."), code="not_in_theme")
    idea.theme_id = None
    audit.record(
        "roundtable.theme_idea_remove", "roundtable_theme", theme.id, actor_id=actor.id,
        idea=idea.id,
    )  # fmt: skip
    return _saved(session, theme)


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
    return _saved(session, theme)


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
    return _saved(session, theme)


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
    moved = [idea.id for idea in source.ideas]
    for idea in list(source.ideas):
        idea.theme_id = target.id
    source.merged_into_id = target.id
    source.published = False
    audit.record(
        "roundtable.theme_merge", "roundtable_theme", source.id, actor_id=actor.id,
        into=target.id, ideas=moved,
    )  # fmt: skip
    db.session.flush()
    db.session.refresh(target)
    emit_after_commit(
        "theme_merged", {"theme_id": source.id, "into": theme_payload(target)},
        to=staff_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    return {
        **team_theme_payload(session, target),
        "merged": {"theme_id": source.id, "idea_ids": moved},
    }


def undo_merge(
    actor: User,
    session: RoundtableSession,
    participant: Participant | None,
    theme_id: int,
    idea_ids: list[int],
) -> list[dict[str, Any]]:
    """Undo a merge: the merged theme comes back with the ideas it brought (those still in the
    theme it went into). Returns both themes as they are now."""
    permissions.require_theme_team(actor, session, participant)
    source = db.session.get(Theme, theme_id)
    if source is None or source.session_id != session.id or source.merged_into_id is None:
        raise NotFound(_("No merged theme to bring back."), code="no_such_theme")
    target = _get_theme(session, source.merged_into_id)
    source.merged_into_id = None
    for idea in _submitted_ideas(session, idea_ids):
        if idea.theme_id == target.id:
            idea.theme_id = source.id
    audit.record(
        "roundtable.theme_unmerge", "roundtable_theme", source.id, actor_id=actor.id,
        out_of=target.id, ideas=idea_ids,
    )  # fmt: skip
    return [_saved(session, source), _saved(session, target)]


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
    session.advance_seq()
    payload = {
        "session_id": session.id,
        "seq": session.seq,
        "themes": [theme_payload(t) for t in themes],
    }
    audit.record("roundtable.publish_themes", "roundtable", session.id, actor_id=actor.id)
    emit_after_commit("themes", payload, to=session_room(session.id), namespace=NAMESPACE)
    return payload


def published_theme_payloads(session: RoundtableSession) -> list[dict[str, Any]]:
    """The published themes as every snapshot shows them, in two queries: after a worker
    restart hundreds of people rejoin at once, and loading each theme's ideas (and each idea's
    table) as objects was an eighth of the surviving worker's work."""
    themes = list(
        db.session.scalars(
            _current_themes_query(session, published_only=True).options(lazyload(Theme.ideas))
        )
    )
    ideas: dict[int, list[tuple[int, int | None]]] = {theme.id: [] for theme in themes}
    if themes:
        for theme_id, idea_id, number in db.session.execute(
            select(Idea.theme_id, Idea.id, RoundtableTable.number)
            .join(RoundtableTable, RoundtableTable.id == Idea.table_id)
            .where(Idea.theme_id.in_(ideas))
            .order_by(Idea.id)
        ):
            ideas[theme_id].append((idea_id, number))
    return [theme_payload(theme, ideas[theme.id]) for theme in themes]


def current_themes(session: RoundtableSession, published_only: bool = False) -> list[Theme]:
    return list(db.session.scalars(_current_themes_query(session, published_only)))


def _current_themes_query(session: RoundtableSession, published_only: bool) -> Select:
    query = select(Theme).where(
        Theme.session_id == session.id,
        Theme.round_no == session.round_no,
        Theme.merged_into_id.is_(None),
    )
    if published_only:
        query = query.where(Theme.published.is_(True))
    return query.order_by(Theme.id)
