"""Every write to agenda items and their discussions, with its rules.

Services flush, never commit; the edge (view or socket handler) commits once. Live updates are
queued with emit_after_commit, so HTTP posts and socket events broadcast the same way.
"""

from typing import Any

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import Division, User
from deliberation.agendas.models import (
    COMMENT_MAX_LENGTH,
    FRAME_DEPTH,
    PATH_SEGMENT_WIDTH,
    AgendaItem,
    Comment,
    CommentFlag,
    FlagStatus,
    Reaction,
    ReactionValue,
)
from deliberation.agendas.permissions import can_moderate, can_view_item, can_withdraw
from deliberation.agendas.queries import comment_payload, item_payload
from deliberation.agendas.rooms import NAMESPACE, item_room
from deliberation.core import audit, throttle
from deliberation.core.errors import DomainError, NotFound, PermissionDenied
from deliberation.core.realtime import emit_after_commit
from deliberation.core.sanitize import clean_text, render_markdown
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db

TITLE_MAX_LENGTH = 200
ITEM_BODY_MAX_LENGTH = 20_000
REASON_MAX_LENGTH = 500
#: The longest comment body a socket handler passes on to `_clean_body`: more than one socket
#: message can carry (SOCKETIO_MAX_MESSAGE_BYTES), so an overlong comment is refused by
#: `_clean_body` alone, with the same limit (COMMENT_MAX_LENGTH) and message as the form.
COMMENT_PAYLOAD_MAX = 1_000_000

#: Default rate limits (overridable in the app config under the same names).
LIMITS = {
    "AGENDAS_PROPOSE_LIMIT": "5/hour",
    "AGENDAS_COMMENT_LIMIT": "10/minute",
    "AGENDAS_EDIT_LIMIT": "20/minute",
    "AGENDAS_REACT_LIMIT": "60/minute",
    "AGENDAS_FLAG_LIMIT": "10/minute",
}


def _(text: str, **variables: Any) -> str:
    """Translate for the person asking; outside a request (CLI, demo seed) keep the English."""
    if has_request_context():
        return gettext(text, **variables)
    return text % variables if variables else text


def _limit(name: str) -> str:
    return current_app.config.get(name, LIMITS[name])


def path_segment(comment_id: int) -> str:
    """One materialised-path segment: the id zero-padded so text order is numeric order."""
    return str(comment_id).zfill(PATH_SEGMENT_WIDTH)


def place_in_thread(comment_id: int, parent: Comment | None) -> dict[str, Any]:
    """Depth, frame anchor, branch and path of a new comment under `parent` (None: top level)."""
    if parent is None:
        return {"depth": 0, "anchor_id": None, "branch_id": comment_id,
                "path": path_segment(comment_id)}  # fmt: skip
    depth = parent.depth + 1
    if depth % FRAME_DEPTH == 0:  # the parent is on its frame's last level: a new frame starts
        return {"depth": depth, "anchor_id": parent.id, "branch_id": comment_id,
                "path": path_segment(comment_id)}  # fmt: skip
    return {
        "depth": depth,
        "anchor_id": parent.anchor_id,
        "branch_id": parent.branch_id,
        "path": f"{parent.path}/{path_segment(comment_id)}",
    }


def next_event_seq(item_id: int) -> int:
    """Raise the item's event sequence number by one and return it (row-locks the item)."""
    return db.session.execute(
        update(AgendaItem)
        .where(AgendaItem.id == item_id)
        .values(event_seq=AgendaItem.event_seq + 1, updated_at=AgendaItem.updated_at)
        .returning(AgendaItem.event_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _broadcast(item_id: int, event_name: str, payload: dict[str, Any]) -> None:
    emit_after_commit(event_name, payload, to=item_room(item_id), namespace=NAMESPACE)


def _broadcast_comment(event_name: str, comment: Comment) -> dict[str, Any]:
    seq = next_event_seq(comment.item_id)
    comment.changed_seq = seq
    db.session.flush()
    author_name = _author_name(comment)
    payload = comment_payload(comment, author_name)
    _broadcast(comment.item_id, event_name, {"seq": seq, "comment": payload})
    return payload


def _author_name(comment: Comment) -> str | None:
    if comment.author_id is None:
        return None
    return db.session.scalar(select(User.display_name).where(User.id == comment.author_id))


# --- Items -------------------------------------------------------------------------------------


def get_item(item_id: int) -> AgendaItem:
    """The item, or NotFound."""
    item = db.session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound(_("That agenda item does not exist."))
    return item


def visible_item(viewer: User | None, item_id: int) -> AgendaItem:
    """The item if `viewer` may see it, else NotFound: someone else's draft does not exist for
    them (permissions.can_view_item). Every page, socket and write that reads an item for
    someone goes through here."""
    item = get_item(item_id)
    if not can_view_item(viewer, item):
        raise NotFound(_("That agenda item does not exist."))
    return item


def _clean_title(title: str | None) -> str:
    title = clean_text(title).strip()
    if not title:
        raise DomainError(_("Please give the item a title."), code="empty")
    if len(title) > TITLE_MAX_LENGTH:
        raise DomainError(
            _("The title is too long (at most %(n)d characters).", n=TITLE_MAX_LENGTH),
            code="too_long",
        )
    return title


def propose_item(author: User, *, division_id: int, title: str, body: str) -> AgendaItem:
    """Any member proposes a draft agenda item in a division."""
    throttle.enforce("agendas.propose", author.id, _limit("AGENDAS_PROPOSE_LIMIT"))
    division = db.session.get(Division, division_id)
    if division is None or not division.is_active:
        raise DomainError(_("Please choose an active division."), code="bad_division")
    body = clean_text(body).strip()
    if len(body) > ITEM_BODY_MAX_LENGTH:
        raise DomainError(
            _("The description is too long (at most %(n)d characters).", n=ITEM_BODY_MAX_LENGTH),
            code="too_long",
        )
    item = AgendaItem(division=division, author_id=author.id, title=_clean_title(title), body=body)
    db.session.add(item)
    db.session.flush()
    audit.record("item.propose", "agenda_item", item.id, actor_id=author.id)
    return item


def _change_state(actor: User, item: AgendaItem, action: str, move) -> AgendaItem:
    before = item.state
    move()
    db.session.flush()
    audit.record(
        f"item.{action}",
        "agenda_item",
        item.id,
        actor_id=actor.id,
        before=before.value,
        after=item.state.value,
    )
    seq = next_event_seq(item.id)
    _broadcast(item.id, "item_changed", {"seq": seq, "item": item_payload(item)})
    return item


def start_discussion(actor: User, item_id: int) -> AgendaItem:
    """A facilitator or admin opens a draft item for discussion."""
    item = visible_item(actor, item_id)
    if not actor.is_facilitator:
        raise PermissionDenied(_("Only a facilitator can open an item for discussion."))
    return _change_state(actor, item, "start_discussion", item.start_discussion)


def withdraw_item(actor: User, item_id: int) -> AgendaItem:
    """The proposer (of a draft or an item in discussion) or a facilitator withdraws it."""
    item = visible_item(actor, item_id)
    if not can_withdraw(actor, item):
        raise PermissionDenied(_("Only the proposer or a facilitator can withdraw this item."))
    return _change_state(actor, item, "withdraw", item.withdraw)


# --- Comments ----------------------------------------------------------------------------------


def _clean_body(body: str | None) -> str:
    body = clean_text(body).strip()
    if not body:
        raise DomainError(_("The comment is empty."), code="empty")
    if len(body) > COMMENT_MAX_LENGTH:
        raise DomainError(
            _(
                "The comment is too long: %(length)d characters, at most %(n)d.",
                length=len(body),
                n=COMMENT_MAX_LENGTH,
            ),
            code="too_long",
        )
    return body


def get_comment(comment_id: int) -> Comment:
    """The comment, or NotFound."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(_("That comment does not exist."))
    return comment


def visible_comment(viewer: User | None, comment_id: int) -> Comment:
    """The comment if `viewer` may see its item (see visible_item), else NotFound."""
    comment = get_comment(comment_id)
    item = db.session.get(AgendaItem, comment.item_id)
    if item is None or not can_view_item(viewer, item):
        raise NotFound(_("That comment does not exist."))
    return comment


def _find_by_client_id(client_id: str) -> Comment | None:
    return db.session.scalar(select(Comment).where(Comment.client_id == client_id))


def _same_post(existing: Comment, author: User, item_id: int) -> Comment:
    if existing.author_id != author.id or existing.item_id != item_id:
        raise DomainError(_("That message id was already used."), code="client_id_taken")
    return existing


def post_comment(
    author: User,
    item_id: int,
    body: str,
    *,
    parent_id: int | None = None,
    client_id: str | None = None,
) -> tuple[Comment, bool]:
    """Post a comment or a reply; a retry with the same client id returns the first post.

    Returns the comment and whether it was created now.
    """
    if client_id:
        existing = _find_by_client_id(client_id)
        if existing is not None:
            return _same_post(existing, author, item_id), False
    body = _clean_body(body)
    item = visible_item(author, item_id)
    if not item.accepts_comments:
        raise DomainError(
            _("This item is %(state)s: it no longer takes comments.", state=item.state.label),
            code="closed",
        )
    parent = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.item_id != item.id:
            raise DomainError(_("You can only reply to a comment of this item."), code="bad_parent")
        if not parent.is_visible:
            raise DomainError(
                _("That comment was deleted or hidden; it takes no new replies."),
                code="parent_gone",
            )
    throttle.enforce(
        "agendas.comment",
        author.id,
        _limit("AGENDAS_COMMENT_LIMIT"),
        _("You are posting too quickly. Please wait a minute and try again."),
    )
    comment = Comment(
        item_id=item.id,
        parent_id=parent.id if parent else None,
        author_id=author.id,
        body=body,
        body_html=str(render_markdown(body)),
        client_id=client_id or None,
        depth=0 if parent is None else parent.depth + 1,
    )
    try:
        with db.session.begin_nested():  # a rollback to here also forgets the new row
            db.session.add(comment)
            db.session.flush()
    except IntegrityError:  # the same client id committed meanwhile
        existing = _find_by_client_id(client_id) if client_id else None
        if existing is None:
            raise
        return _same_post(existing, author, item_id), False
    for key, value in place_in_thread(comment.id, parent).items():
        setattr(comment, key, value)
    if parent is not None:
        db.session.execute(
            update(Comment)
            .where(Comment.id == parent.id)
            .values(reply_count=Comment.reply_count + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(parent, ["reply_count"])
    _broadcast_comment("comment_created", comment)
    return comment, True


def own_comment(author: User, comment_id: int, *, deleted_ok: bool = False) -> Comment:
    """The author's own comment, or PermissionDenied: the rule of the edit and delete pages too."""
    comment = get_comment(comment_id)
    if comment.author_id != author.id:
        raise PermissionDenied(_("Only its author can change a comment."))
    if comment.is_deleted and not deleted_ok:
        raise DomainError(_("That comment was deleted."), code="deleted")
    return comment


def edit_comment(author: User, comment_id: int, body: str) -> Comment:
    """The author corrects a comment within 15 minutes of posting; it is marked edited."""
    comment = own_comment(author, comment_id)
    if comment.is_hidden:
        raise DomainError(_("A hidden comment cannot be edited."), code="hidden")
    if utcnow() > comment.editable_until():
        raise DomainError(
            _("Comments can be edited for 15 minutes after posting; that time has passed."),
            code="edit_window",
        )
    body = _clean_body(body)
    throttle.enforce("agendas.edit", author.id, _limit("AGENDAS_EDIT_LIMIT"))
    if body == comment.body:
        return comment
    comment.body = body
    comment.body_html = str(render_markdown(body))
    comment.edited_at = utcnow()
    _broadcast_comment("comment_updated", comment)
    return comment


def delete_comment(author: User, comment_id: int) -> Comment:
    """The author deletes a comment; a "[deleted]" placeholder keeps the replies in place.

    Deleting again (a retry) changes nothing and answers the same.
    """
    comment = own_comment(author, comment_id, deleted_ok=True)
    if comment.is_deleted:
        return comment
    comment.deleted_at = utcnow()
    comment.body = ""
    comment.body_html = ""
    _broadcast_comment("comment_updated", comment)
    return comment


def _upsert_reaction(user_id: int, comment: Comment, value: ReactionValue) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Reaction).values(
        user_id=user_id, comment_id=comment.id, item_id=comment.item_id, value=value,
        updated_at=utcnow(),
    )  # fmt: skip
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "comment_id"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
    )


def _recount_reactions(comment: Comment) -> None:
    def count_of(value: ReactionValue):
        return (
            select(func.count(Reaction.id))
            .where(Reaction.comment_id == comment.id, Reaction.value == value)
            .scalar_subquery()
        )

    db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(
            agree_count=count_of(ReactionValue.AGREE),
            disagree_count=count_of(ReactionValue.DISAGREE),
            pass_count=count_of(ReactionValue.PASS),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(comment, ["agree_count", "disagree_count", "pass_count"])


def react(user: User, comment_id: int, value: str) -> Comment:
    """Agree, disagree or pass on a comment; reacting again replaces one's earlier reaction."""
    try:
        reaction_value = ReactionValue(value)
    except ValueError:
        raise DomainError(
            _("A reaction is agree, disagree or pass."), code="bad_reaction"
        ) from None
    comment = visible_comment(user, comment_id)
    if not comment.is_visible:
        raise DomainError(
            _("That comment was deleted or hidden; it takes no reactions."), code="comment_gone"
        )
    item = get_item(comment.item_id)
    if not item.accepts_comments:
        raise DomainError(
            _("This item is %(state)s: reactions are closed.", state=item.state.label),
            code="closed",
        )
    throttle.enforce(
        "agendas.react",
        user.id,
        _limit("AGENDAS_REACT_LIMIT"),
        _("You are reacting too quickly. Please wait a moment."),
    )
    _upsert_reaction(user.id, comment, reaction_value)
    _recount_reactions(comment)
    seq = next_event_seq(comment.item_id)
    comment.changed_seq = seq
    db.session.flush()
    _broadcast(
        comment.item_id,
        "reactions_changed",
        {"seq": seq, "comment_id": comment.id, "counts": comment.counts()},
    )
    return comment


# --- Moderation --------------------------------------------------------------------------------


def clean_reason(reason: str | None, *, what: str) -> str:
    """A moderation or flag reason, cleaned; refused (`what`) when empty or too long."""
    reason = clean_text(reason).strip()
    if not reason:
        raise DomainError(what, code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            _("The reason is too long (at most %(n)d characters).", n=REASON_MAX_LENGTH),
            code="too_long",
        )
    return reason


def flag_comment(user: User, comment_id: int, reason: str) -> tuple[CommentFlag, bool]:
    """A member reports a comment to the facilitators, with a reason; once per person.

    Returns the flag and whether it is new; flagging again returns the first flag.
    """
    reason = clean_reason(reason, what=_("Please say why you are flagging this comment."))
    comment = visible_comment(user, comment_id)
    if comment.is_deleted:
        raise DomainError(_("That comment was deleted."), code="deleted")
    throttle.enforce("agendas.flag", user.id, _limit("AGENDAS_FLAG_LIMIT"))
    flag = CommentFlag(comment_id=comment.id, user_id=user.id, reason=reason)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(
            select(CommentFlag).where(
                CommentFlag.comment_id == comment.id, CommentFlag.user_id == user.id
            )
        )
        if existing is None:
            raise
        return existing, False
    audit.record(
        "comment.flag", "comment", comment.id, actor_id=user.id, item_id=comment.item_id,
        reason=reason,
    )  # fmt: skip
    return flag, True


def _resolve_flags(moderator: User, comment_id: int, status: FlagStatus) -> int:
    result = db.session.execute(
        update(CommentFlag)
        .where(CommentFlag.comment_id == comment_id, CommentFlag.status == FlagStatus.OPEN)
        .values(status=status, resolved_at=utcnow(), resolved_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _moderator_comment(moderator: User, comment_id: int) -> Comment:
    comment = get_comment(comment_id)
    if not can_moderate(moderator):
        raise PermissionDenied(_("Only a facilitator can moderate comments."))
    return comment


def hide_comment(moderator: User, comment_id: int, reason: str) -> Comment:
    """A facilitator hides a comment with a public reason; open flags on it are resolved.

    Hiding a hidden comment (a retry, or two facilitators at once) changes nothing.
    """
    reason = clean_reason(reason, what=_("Please give a public reason for hiding it."))
    comment = _moderator_comment(moderator, comment_id)
    if comment.is_hidden:
        return comment
    comment.hidden_at = utcnow()
    comment.hidden_by_id = moderator.id
    comment.hidden_reason = reason
    resolved = _resolve_flags(moderator, comment.id, FlagStatus.HIDDEN)
    audit.record(
        "comment.hide", "comment", comment.id, actor_id=moderator.id, item_id=comment.item_id,
        reason=reason, flags_resolved=resolved,
    )  # fmt: skip
    _broadcast_comment("comment_updated", comment)
    return comment


def restore_comment(moderator: User, comment_id: int, reason: str) -> Comment:
    """A facilitator shows a hidden comment again, saying why (a repeat changes nothing)."""
    reason = clean_reason(reason, what=_("Please give a reason for restoring it."))
    comment = _moderator_comment(moderator, comment_id)
    if not comment.is_hidden:
        return comment
    comment.hidden_at = None
    comment.hidden_by_id = None
    comment.hidden_reason = ""
    audit.record(
        "comment.restore", "comment", comment.id, actor_id=moderator.id,
        item_id=comment.item_id, reason=reason,
    )  # fmt: skip
    _broadcast_comment("comment_updated", comment)
    return comment


def dismiss_flags(moderator: User, comment_id: int) -> int:
    """A facilitator decides the flagged comment may stay; its open flags are closed."""
    comment = _moderator_comment(moderator, comment_id)
    resolved = _resolve_flags(moderator, comment.id, FlagStatus.DISMISSED)
    if resolved == 0:
        raise DomainError(_("That comment has no open flags."), code="no_flags")
    audit.record(
        "comment.dismiss_flags", "comment", comment.id, actor_id=moderator.id,
        item_id=comment.item_id, flags_resolved=resolved,
    )  # fmt: skip
    return resolved


def comment_time_left(comment: Comment) -> float:
    """Seconds left in the author's edit window (0 when it has passed)."""
    return max(0.0, (comment.editable_until() - as_utc(utcnow())).total_seconds())
