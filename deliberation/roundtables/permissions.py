"""Who may do what at a roundtable: lead facilitator, theme team, table facilitator, citizen."""

import hashlib
import logging

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.core.errors import PermissionDenied
from deliberation.extensions import db
from deliberation.roundtables.models import Participant, ParticipantRole, RoundtableSession

log = logging.getLogger(__name__)

#: A projector link's token is at least this long (`new_projector_token` makes 24 characters):
#: a shorter one is refused before any lookup, on the page and on the socket alike.
PROJECTOR_TOKEN_MIN_LENGTH = 16


def can_create_sessions(user: User) -> bool:
    """Admins and facilitators create sessions (the creator may name another lead)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_facilitator)


def is_lead(user: User, session: RoundtableSession) -> bool:
    return user.id == session.lead_id or user.is_admin


def serves_table(
    user: User, session: RoundtableSession, participant: Participant | None, table_id: int | None
) -> bool:
    """Who works for a hall table's paper people (enters their paper, prints the table's
    sheets): the table's own facilitator, the lead, or field-office staff."""
    if is_lead(user, session) or user.is_field_office:
        return True
    return (
        participant is not None
        and participant.role == ParticipantRole.TABLE_FACILITATOR
        and participant.table_id is not None
        and participant.table_id == table_id
    )


def is_theme_team(user: User, session: RoundtableSession, participant: Participant | None) -> bool:
    if is_lead(user, session):
        return True
    return participant is not None and participant.role == ParticipantRole.THEME_TEAM


def is_staff(user: User, session: RoundtableSession, participant: Participant | None) -> bool:
    """Staff see every table: the lead and the theme team."""
    return is_theme_team(user, session, participant)


def require_lead(user: User, session: RoundtableSession) -> None:
    if not is_lead(user, session):
        raise PermissionDenied(_("Only the lead facilitator can do that."), code="not_lead")


def require_theme_team(
    user: User, session: RoundtableSession, participant: Participant | None
) -> None:
    if not is_theme_team(user, session, participant):
        raise PermissionDenied(_("Only the theme team can do that."), code="not_theme_team")


def require_table_facilitator(participant: Participant | None, table_id: int | None) -> None:
    """The table facilitator of exactly this table."""
    if participant is None or participant.role != ParticipantRole.TABLE_FACILITATOR:
        raise PermissionDenied(
            _("Only the table facilitator can do that."), code="not_table_facilitator"
        )
    if participant.table_id is None or participant.table_id != table_id:
        raise PermissionDenied(_("That is not your table."), code="not_your_table")


def projector_session(token: str, where: str) -> RoundtableSession | None:
    """The session whose projector link carries this token (the page and the socket both ask
    here); None, logged as a refusal, for a token too short or matching no session."""
    session = None
    if len(token) >= PROJECTOR_TOKEN_MIN_LENGTH:
        session = db.session.scalar(
            select(RoundtableSession).where(RoundtableSession.projector_token == token)
        )
    if session is None:
        log_refused_projector_link(token, where)
    return session


def log_refused_projector_link(token: str, where: str) -> None:
    """A wrong projector link is refused like any act refused by role: logged, so that someone
    guessing links shows up in the logs. Only a fingerprint of the token is written (a near
    miss of a real token is not copied into the logs)."""
    fingerprint = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:12]
    log.warning(
        "projector link refused (%s) for user %s from %s: token %s (%d characters)",
        where,
        getattr(current_user, "id", None),
        request.remote_addr,
        fingerprint,
        len(token),
    )
