"""Threads and moderation under judgements' comments: citizens reply (nested), edit and delete
their own replies, flag a comment or a reply; facilitators hide or restore with a public reason.
Every write here flushes and is audited; the route commits."""

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import User
from deliberation.agendas.models import FlagStatus
from deliberation.agendas.permissions import can_moderate
from deliberation.agendas.services import clean_reason
from deliberation.core import audit
from deliberation.core.errors import DomainError, NotFound, PermissionDenied
from deliberation.core.sanitize import clean_text
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals.judgements import COMMENT_MAX_LENGTH
from deliberation.proposals.models import (
    REPLY_MAX_DEPTH,
    Judgement,
    JudgementFlag,
    JudgementReply,
)

#: The longest reply: the same limit as the judgement's comment it answers.
REPLY_MAX_LENGTH = COMMENT_MAX_LENGTH


def _clean_body(body: str | None) -> str:
    body = clean_text(body).strip()
    if not body:
        raise DomainError(_("The reply is empty."), code="empty")
    if len(body) > REPLY_MAX_LENGTH:
        raise DomainError(
            _(
                "The reply is too long: %(length)d characters, at most %(n)d.",
                length=len(body),
                n=REPLY_MAX_LENGTH,
            ),
            code="too_long",
        )
    return body


def _require_member(user: User) -> None:
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Please log in to reply."), code="login")


def commented_judgement(judgement_id: int) -> Judgement:
    """The judgement if it carries a comment (the only ones with a thread), else NotFound."""
    judgement = db.session.get(Judgement, judgement_id)
    if judgement is None or not judgement.comment:
        raise NotFound(_("There is no such comment."))
    return judgement


def get_reply(reply_id: int) -> JudgementReply:
    """The reply, or NotFound."""
    reply = db.session.get(JudgementReply, reply_id)
    if reply is None:
        raise NotFound(_("There is no such reply."))
    return reply


def post_reply(
    author: User,
    judgement_id: int,
    body: str,
    *,
    parent_id: int | None = None,
    client_id: str | None = None,
) -> tuple[JudgementReply, bool]:
    """A member answers a judgement's comment or a reply under it. A resubmission with the same
    client id returns the first reply (and False) instead of posting twice."""
    _require_member(author)
    body = _clean_body(body)
    client_id = (client_id or "").strip()[:64] or None
    if client_id:
        existing = _by_client_id(client_id)
        if existing is not None:
            return _same_reply(existing, author, judgement_id), False
    judgement = commented_judgement(judgement_id)
    if judgement.comment_is_hidden:
        raise DomainError(_("A hidden comment cannot be answered."), code="hidden")
    parent = None
    if parent_id is not None:
        parent = get_reply(parent_id)
        if parent.judgement_id != judgement.id:
            raise NotFound(_("There is no such reply."))
        if parent.is_deleted or parent.is_hidden:
            raise DomainError(_("That reply can no longer be answered."), code="hidden")
        if parent.depth >= REPLY_MAX_DEPTH:
            parent = db.session.get(JudgementReply, parent.parent_id)  # join the deepest level
    reply = JudgementReply(
        judgement_id=judgement.id,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_id=author.id,
        body=body,
        client_id=client_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(reply)
            db.session.flush()  # UNIQUE client_id: two racing resubmissions keep one reply
    except IntegrityError:
        existing = _by_client_id(client_id) if client_id else None
        if existing is None:
            raise
        return _same_reply(existing, author, judgement_id), False
    reply.root_id = parent.root_id if parent else reply.id
    db.session.flush()
    audit.record(
        "judgement_reply.create",
        "judgement",
        judgement.id,
        actor_id=author.id,
        reply=reply.id,
        parent=reply.parent_id,
    )
    return reply, True


def _by_client_id(client_id: str) -> JudgementReply | None:
    return db.session.scalar(select(JudgementReply).where(JudgementReply.client_id == client_id))


def _same_reply(existing: JudgementReply, author: User, judgement_id: int) -> JudgementReply:
    if existing.author_id != author.id or existing.judgement_id != judgement_id:
        raise DomainError(_("That message id was already used."), code="client_id_taken")
    return existing


def own_reply(author: User, reply_id: int) -> JudgementReply:
    """The author's own reply that still shows, or an error: only its author changes it."""
    reply = get_reply(reply_id)
    if reply.author_id != author.id:
        raise PermissionDenied(_("Only its author can change a reply."), code="not_author")
    if reply.is_deleted:
        raise DomainError(_("That reply was deleted."), code="deleted")
    return reply


def edit_reply(author: User, reply_id: int, body: str) -> JudgementReply:
    """The author corrects their reply; it is marked edited. A hidden reply stays as it is."""
    reply = own_reply(author, reply_id)
    if reply.is_hidden:
        raise DomainError(_("A hidden reply cannot be edited."), code="hidden")
    body = _clean_body(body)
    if body == reply.body:
        return reply
    reply.body = body
    reply.edited_at = utcnow()
    db.session.flush()
    audit.record(
        "judgement_reply.edit", "judgement", reply.judgement_id, actor_id=author.id, reply=reply.id
    )
    return reply


def delete_reply(author: User, reply_id: int) -> JudgementReply:
    """The author deletes their reply; a "deleted" placeholder keeps the answers below it."""
    reply = get_reply(reply_id)
    if reply.author_id != author.id:
        raise PermissionDenied(_("Only its author can change a reply."), code="not_author")
    if reply.is_deleted:  # a retry answers the same and changes nothing
        return reply
    reply.deleted_at = utcnow()
    reply.body = ""
    db.session.flush()
    audit.record(
        "judgement_reply.delete",
        "judgement",
        reply.judgement_id,
        actor_id=author.id,
        reply=reply.id,
    )
    return reply


# --- Flags ----------------------------------------------------------------------------------


def _add_flag(user: User, reason: str, **target: int) -> tuple[JudgementFlag, bool]:
    flag = JudgementFlag(user_id=user.id, reason=reason, **target)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:  # UNIQUE (target, person): flagging again keeps the first flag
        (column, value) = next(iter(target.items()))
        existing = db.session.scalar(
            select(JudgementFlag).where(
                getattr(JudgementFlag, column) == value, JudgementFlag.user_id == user.id
            )
        )
        if existing is None:
            raise
        return existing, False
    return flag, True


def flag_judgement_comment(
    user: User, judgement_id: int, reason: str
) -> tuple[JudgementFlag, bool]:
    """A member reports a judgement's comment to the facilitators, with a reason; once."""
    _require_member(user)
    reason = clean_reason(reason, what=_("Please say why you are flagging this comment."))
    judgement = commented_judgement(judgement_id)
    flag, created = _add_flag(user, reason, judgement_id=judgement.id)
    if created:
        audit.record("judgement.flag", "judgement", judgement.id, actor_id=user.id, reason=reason)
    return flag, created


def flag_reply(user: User, reply_id: int, reason: str) -> tuple[JudgementFlag, bool]:
    """A member reports a reply to the facilitators, with a reason; once."""
    _require_member(user)
    reason = clean_reason(reason, what=_("Please say why you are flagging this reply."))
    reply = get_reply(reply_id)
    if reply.is_deleted:
        raise DomainError(_("That reply was deleted."), code="deleted")
    flag, created = _add_flag(user, reason, reply_id=reply.id)
    if created:
        audit.record(
            "judgement_reply.flag",
            "judgement",
            reply.judgement_id,
            actor_id=user.id,
            reply=reply.id,
            reason=reason,
        )
    return flag, created


def _resolve_flags(moderator: User, status: FlagStatus, **target: int) -> int:
    (column, value) = next(iter(target.items()))
    result = db.session.execute(
        update(JudgementFlag)
        .where(getattr(JudgementFlag, column) == value, JudgementFlag.status == FlagStatus.OPEN)
        .values(status=status, resolved_at=utcnow(), resolved_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _require_moderator(moderator: User) -> None:
    if not can_moderate(moderator):
        raise PermissionDenied(_("Only a facilitator can moderate comments."), code="forbidden")


# --- Moderation -----------------------------------------------------------------------------


def hide_judgement_comment(moderator: User, judgement: Judgement, reason: str) -> Judgement:
    """A facilitator hides a judgement's comment with a public reason shown in its place;
    the judgement still counts and open flags on it are resolved. A repeat changes nothing."""
    _require_moderator(moderator)
    reason = clean_reason(reason, what=_("Please give a public reason for hiding it."))
    if judgement.comment_is_hidden:
        return judgement
    judgement.comment_hidden_at = utcnow()
    judgement.comment_hidden_by_id = moderator.id
    judgement.comment_hidden_reason = reason
    resolved = _resolve_flags(moderator, FlagStatus.HIDDEN, judgement_id=judgement.id)
    db.session.flush()
    audit.record(
        "judgement.hide_comment",
        "judgement",
        judgement.id,
        actor_id=moderator.id,
        proposal=judgement.proposal_id,
        reason=reason,
        flags_resolved=resolved,
    )
    return judgement


def restore_judgement_comment(moderator: User, judgement: Judgement, reason: str) -> Judgement:
    """A facilitator shows a hidden judgement comment again, saying why."""
    _require_moderator(moderator)
    reason = clean_reason(reason, what=_("Please give a reason for restoring it."))
    if not judgement.comment_is_hidden:
        return judgement
    judgement.comment_hidden_at = None
    judgement.comment_hidden_by_id = None
    judgement.comment_hidden_reason = ""
    db.session.flush()
    audit.record(
        "judgement.restore_comment",
        "judgement",
        judgement.id,
        actor_id=moderator.id,
        proposal=judgement.proposal_id,
        reason=reason,
    )
    return judgement


def hide_reply(moderator: User, reply_id: int, reason: str) -> JudgementReply:
    """A facilitator hides a reply with a public reason; open flags on it are resolved."""
    _require_moderator(moderator)
    reason = clean_reason(reason, what=_("Please give a public reason for hiding it."))
    reply = get_reply(reply_id)
    if reply.is_hidden:
        return reply
    reply.hidden_at = utcnow()
    reply.hidden_by_id = moderator.id
    reply.hidden_reason = reason
    resolved = _resolve_flags(moderator, FlagStatus.HIDDEN, reply_id=reply.id)
    db.session.flush()
    audit.record(
        "judgement_reply.hide",
        "judgement",
        reply.judgement_id,
        actor_id=moderator.id,
        reply=reply.id,
        reason=reason,
        flags_resolved=resolved,
    )
    return reply


def restore_reply(moderator: User, reply_id: int, reason: str) -> JudgementReply:
    """A facilitator shows a hidden reply again, saying why."""
    _require_moderator(moderator)
    reason = clean_reason(reason, what=_("Please give a reason for restoring it."))
    reply = get_reply(reply_id)
    if not reply.is_hidden:
        return reply
    reply.hidden_at = None
    reply.hidden_by_id = None
    reply.hidden_reason = ""
    db.session.flush()
    audit.record(
        "judgement_reply.restore",
        "judgement",
        reply.judgement_id,
        actor_id=moderator.id,
        reply=reply.id,
        reason=reason,
    )
    return reply


def dismiss_flags(
    moderator: User, *, judgement_id: int | None = None, reply_id: int | None = None
) -> int:
    """A facilitator decides a flagged comment or reply may stay; its open flags close."""
    _require_moderator(moderator)
    if reply_id is not None:
        reply = get_reply(reply_id)
        resolved = _resolve_flags(moderator, FlagStatus.DISMISSED, reply_id=reply.id)
        judgement_id, details = reply.judgement_id, {"reply": reply.id}
    else:
        judgement = commented_judgement(judgement_id or 0)
        resolved = _resolve_flags(moderator, FlagStatus.DISMISSED, judgement_id=judgement.id)
        details = {}
    if resolved == 0:
        raise DomainError(_("That comment has no open flags."), code="no_flags")
    audit.record(
        "judgement.dismiss_flags",
        "judgement",
        judgement_id,
        actor_id=moderator.id,
        flags_resolved=resolved,
        **details,
    )
    return resolved
