"""The theme team's work: grouping submitted ideas into themes, renaming, merging, publishing
them to the room for the poll."""

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

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
    SessionState,
    Theme,
)
from deliberation.roundtables.payloads import theme_payload
from deliberation.roundtables.rooms import NAMESPACE, session_room, staff_room

THEME_NAME_MAX = 200
THEME_DESCRIPTION_MAX = 2000


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


def _saved(session: RoundtableSession, theme: Theme) -> dict[str, Any]:
    """A created or edited theme, written and re-read (its ideas changed), sent to the staff."""
    db.session.flush()
    db.session.refresh(theme)
    payload = theme_payload(theme)
    emit_after_commit("theme", payload, to=staff_room(session.id), namespace=NAMESPACE)
    return payload


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
    session.advance_seq()
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
