"""Reads about agenda items and discussions that views, sockets and other features share.

A thread page costs a fixed number of queries whatever the thread's size or shape: one for
the page's first-level comments, one for a bounded slice of each of their branches (a UNION
of index range scans), one for the viewer's own reactions and one for the total.
"""

from typing import Any

from flask import has_request_context
from sqlalchemy import and_, func, or_, select, union_all

from deliberation.accounts.models import Division, User
from deliberation.agendas.models import (
    AgendaItem,
    Comment,
    CommentFlag,
    FlagStatus,
    ItemState,
    Reaction,
    ReactionValue,
)
from deliberation.agendas.permissions import viewable_items
from deliberation.db import as_utc
from deliberation.extensions import db

#: First-level comments per page, and replies shown under each before "more replies".
ROOTS_PER_PAGE = 20
REPLIES_PER_BRANCH = 10
#: Comments per "more replies" slice.
SLICE_SIZE = 50
#: A reconnecting client that missed more changes than this reloads the page instead.
SNAPSHOT_LIMIT = 200
ITEMS_PER_PAGE = 20


def _iso(moment) -> str | None:
    moment = as_utc(moment)
    return moment.isoformat() if moment else None


def item_payload(item: AgendaItem) -> dict[str, Any]:
    """What live readers need to know about the item itself."""
    return {
        "id": item.id,
        "title": item.title,
        "state": item.state.value,
        "state_label": item.state.label if has_request_context() else item.state.value,
        "accepts_comments": item.accepts_comments,
    }


def comment_payload(comment: Comment, author_name: str | None) -> dict[str, Any]:
    """A comment as pages and socket events show it; no text of a deleted or hidden comment."""
    if comment.is_hidden:
        status = "hidden"
    elif comment.is_deleted:
        status = "deleted"
    else:
        status = "visible"
    return {
        "id": comment.id,
        "item_id": comment.item_id,
        "parent_id": comment.parent_id,
        "anchor_id": comment.anchor_id,
        "branch_id": comment.branch_id,
        "path": comment.path,
        "depth": comment.depth,
        "frame_level": comment.frame_level,
        "author_id": comment.author_id if status != "deleted" else None,
        "author_name": author_name if status != "deleted" else None,
        "status": status,
        "body_html": comment.body_html if status == "visible" else "",
        "hidden_reason": comment.hidden_reason if status == "hidden" else "",
        "created_at": _iso(comment.created_at),
        "edited": comment.is_edited,
        "editable_until": _iso(comment.editable_until()),
        "reply_count": comment.reply_count,
        "continues": comment.continues_below,
        "counts": comment.counts(),
        "seq": comment.changed_seq,
    }


def _with_author():
    return select(Comment, User.display_name).outerjoin(User, User.id == Comment.author_id)


def _payloads(rows) -> list[dict[str, Any]]:
    return [comment_payload(comment, name) for comment, name in rows]


# --- Item lists --------------------------------------------------------------------------------


def list_items(
    viewer: User | None,
    *,
    state: ItemState | None = None,
    division_id: int | None = None,
    text: str = "",
    page: int = 1,
    per_page: int = ITEMS_PER_PAGE,
):
    """Agenda items `viewer` may see (others' drafts left out), newest first, filtered by state,
    division and words in title or body."""
    query = (
        select(AgendaItem)
        .where(viewable_items(viewer))
        .order_by(AgendaItem.created_at.desc(), AgendaItem.id.desc())
    )
    if state is not None:
        query = query.where(AgendaItem.state == state)
    if division_id is not None:
        query = query.where(AgendaItem.division_id == division_id)
    text = text.strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                AgendaItem.title.ilike(pattern, escape="\\"),
                AgendaItem.body.ilike(pattern, escape="\\"),
            )
        )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def comment_counts(item_ids: list[int]) -> dict[int, int]:
    """Comments (not deleted or hidden) on each of these items."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(Comment.item_id, func.count(Comment.id))
        .where(
            Comment.item_id.in_(item_ids),
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
        )
        .group_by(Comment.item_id)
    )
    return dict(rows.all())


def division_by_slug(slug: str) -> Division | None:
    return db.session.scalar(select(Division).where(Division.slug == slug))


# --- Thread pages ------------------------------------------------------------------------------


def _roots(item_id: int, anchor_id: int | None, after: str | None, newest_first: bool):
    """The first-level comments of a frame: top-level ones, or the replies of `anchor_id`."""
    parent = Comment.parent_id.is_(None) if anchor_id is None else Comment.parent_id == anchor_id
    query = _with_author().where(Comment.item_id == item_id, parent)
    if newest_first:
        if after:
            query = query.where(Comment.path < after)
        query = query.order_by(Comment.path.desc())
    else:
        if after:
            query = query.where(Comment.path > after)
        query = query.order_by(Comment.path)
    return db.session.execute(query.limit(ROOTS_PER_PAGE + 1)).all()


def _branch_slices(roots: list[Comment]) -> dict[int, list]:
    """Up to REPLIES_PER_BRANCH + 1 replies under each root, in one statement."""
    if not roots:
        return {}
    parts = []
    for root in roots:
        part = (
            select(Comment.id)
            .where(Comment.branch_id == root.id, Comment.path > root.path)
            .order_by(Comment.path)
            .limit(REPLIES_PER_BRANCH + 1)
            .subquery()
        )
        parts.append(select(part.c.id))
    ids = union_all(*parts).subquery()
    rows = db.session.execute(
        _with_author().where(Comment.id.in_(select(ids.c.id))).order_by(Comment.path)
    ).all()
    slices: dict[int, list] = {root.id: [] for root in roots}
    for row in rows:
        slices[row[0].branch_id].append(row)
    return slices


def _entry(payload: dict[str, Any], base_level: int) -> dict[str, Any]:
    return {"kind": "comment", "level": payload["frame_level"] - base_level, "comment": payload}


def thread_page(
    item_id: int,
    *,
    anchor_id: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    """One page of a frame: first-level comments, each followed by its first replies.

    The top of the thread lists newest first; replies read oldest first. Returns
    {"entries": [...], "more_after": path or None} where an entry is a comment or a
    "more replies" marker saying where its branch continues.
    """
    newest_first = anchor_id is None
    root_rows = _roots(item_id, anchor_id, after, newest_first)
    more_after = None
    if len(root_rows) > ROOTS_PER_PAGE:
        root_rows = root_rows[:ROOTS_PER_PAGE]
        more_after = root_rows[-1][0].path
    slices = _branch_slices([row[0] for row in root_rows])
    entries: list[dict[str, Any]] = []
    for root, name in root_rows:
        entries.append(_entry(comment_payload(root, name), 0))
        replies = slices[root.id]
        for comment, reply_name in replies[:REPLIES_PER_BRANCH]:
            entries.append(_entry(comment_payload(comment, reply_name), 0))
        if len(replies) > REPLIES_PER_BRANCH:
            entries.append(_more_marker(root, replies[REPLIES_PER_BRANCH - 1][0].path, 0))
    return {"entries": entries, "more_after": more_after}


def _more_marker(subtree_root: Comment, after: str, base_level: int) -> dict[str, Any]:
    return {
        "kind": "more_replies",
        "item_id": subtree_root.item_id,
        "root_id": subtree_root.id,
        "after": after,
        "level": subtree_root.frame_level - base_level + 1,
    }


def subtree_slice(root: Comment, *, after: str | None = None, base_level: int | None = None):
    """The next SLICE_SIZE replies below `root` within its frame, depth-first, oldest first."""
    lower = max(after or "", root.path + "/")
    upper = root.path + "0"  # '/' sorts just before '0': every descendant's path is below this
    rows = db.session.execute(
        _with_author()
        .where(
            Comment.branch_id == root.branch_id,
            and_(Comment.path > lower, Comment.path < upper),
        )
        .order_by(Comment.path)
        .limit(SLICE_SIZE + 1)
    ).all()
    base = root.frame_level if base_level is None else base_level
    entries = [_entry(comment_payload(c, name), base) for c, name in rows[:SLICE_SIZE]]
    if len(rows) > SLICE_SIZE:
        entries.append(_more_marker(root, rows[SLICE_SIZE - 1][0].path, base))
    return entries


def comment_with_author(comment_id: int) -> tuple[Comment, str | None] | None:
    row = db.session.execute(_with_author().where(Comment.id == comment_id)).first()
    return (row[0], row[1]) if row else None


def comment_context(comment: Comment) -> dict[str, Any] | None:
    """The parent of a comment (for "in reply to" on its own page)."""
    if comment.parent_id is None:
        return None
    row = comment_with_author(comment.parent_id)
    return comment_payload(*row) if row else None


def viewer_reactions(viewer_id: int | None, comment_ids: list[int]) -> dict[int, str]:
    """The viewer's own reaction on each listed comment."""
    if viewer_id is None or not comment_ids:
        return {}
    rows = db.session.execute(
        select(Reaction.comment_id, Reaction.value).where(
            Reaction.user_id == viewer_id, Reaction.comment_id.in_(comment_ids)
        )
    )
    return {comment_id: value.value for comment_id, value in rows}


def comment_total(item_id: int) -> tuple[int, int]:
    """Every comment of the item, placeholders included (what the thread holds), and the
    newest one's id (0 for none): the page counts on live from comments after that one."""
    total, newest = db.session.execute(
        select(func.count(Comment.id), func.max(Comment.id)).where(Comment.item_id == item_id)
    ).one()
    return total or 0, newest or 0


def changes_since(item_id: int, since_seq: int) -> dict[str, Any]:
    """What a reconnecting client missed: the item, and every comment changed after `since_seq`.

    {"seq": current, "item": {...}, "comments": [...], "reset": bool}; reset means more
    changed than SNAPSHOT_LIMIT and the client should reload the page instead.
    """
    item = db.session.get(AgendaItem, item_id)
    seq = item.event_seq if item else 0
    rows = db.session.execute(
        _with_author()
        .where(Comment.item_id == item_id, Comment.changed_seq > since_seq)
        .order_by(Comment.changed_seq)
        .limit(SNAPSHOT_LIMIT + 1)
    ).all()
    reset = len(rows) > SNAPSHOT_LIMIT or since_seq > seq
    return {
        "seq": seq,
        "item": item_payload(item) if item else None,
        "comments": [] if reset else _payloads(rows),
        "reset": reset,
    }


# --- Moderation --------------------------------------------------------------------------------


def moderation_queue(page: int = 1, per_page: int = 20):
    """Comments with open flags, most flagged first: (comment, author, item title, flags)."""
    open_flags = (
        select(CommentFlag.comment_id, func.count(CommentFlag.id).label("flags"))
        .where(CommentFlag.status == FlagStatus.OPEN)
        .group_by(CommentFlag.comment_id)
        .subquery()
    )
    query = (
        select(Comment, User.display_name, AgendaItem.title, open_flags.c.flags)
        .join(open_flags, open_flags.c.comment_id == Comment.id)
        .join(AgendaItem, AgendaItem.id == Comment.item_id)
        .outerjoin(User, User.id == Comment.author_id)
        .order_by(open_flags.c.flags.desc(), Comment.id)
    )
    total = db.session.scalar(select(func.count()).select_from(open_flags)) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // per_page))}


def open_flag_reasons(comment_ids: list[int]) -> dict[int, list[str]]:
    """The reasons given in the open flags of each comment."""
    if not comment_ids:
        return {}
    reasons: dict[int, list[str]] = {cid: [] for cid in comment_ids}
    rows = db.session.execute(
        select(CommentFlag.comment_id, CommentFlag.reason)
        .where(CommentFlag.comment_id.in_(comment_ids), CommentFlag.status == FlagStatus.OPEN)
        .order_by(CommentFlag.id)
    )
    for comment_id, reason in rows:
        reasons[comment_id].append(reason)
    return reasons


# --- For other features ------------------------------------------------------------------------


def discussion_statistics(item_id: int) -> dict[str, Any]:
    """Counts for an item's discussion: comments, distinct participants, reactions by kind.

    Contract used by proposals (frozen snapshot) and summaries:
    {"comments": int, "participants": int,
     "reactions": {"agree": int, "disagree": int, "pass": int}}

    Comments counts the visible ones (not deleted, not hidden); participants are the distinct
    people who wrote a visible comment or reacted to one; reactions are people's latest
    reactions on visible comments.
    """
    visible = and_(
        Comment.item_id == item_id, Comment.deleted_at.is_(None), Comment.hidden_at.is_(None)
    )
    comments = db.session.scalar(select(func.count(Comment.id)).where(visible)) or 0
    reactions = {value.value: 0 for value in ReactionValue}
    for value, count in db.session.execute(
        select(Reaction.value, func.count(Reaction.id))
        .join(Comment, Comment.id == Reaction.comment_id)
        .where(visible)
        .group_by(Reaction.value)
    ):
        reactions[value.value] = count
    writers = select(Comment.author_id.label("user_id")).where(
        visible, Comment.author_id.is_not(None)
    )
    reactors = (
        select(Reaction.user_id.label("user_id"))
        .join(Comment, Comment.id == Reaction.comment_id)
        .where(visible)
    )
    people = writers.union(reactors).subquery()
    participants = db.session.scalar(select(func.count()).select_from(people)) or 0
    return {"comments": comments, "participants": participants, "reactions": reactions}


def reaction_matrix(item_id: int) -> dict[str, list]:
    """Plain data for the consensus analysis of one item's discussion.

    {"votes": [(participant_key, comment_id, value), ...], "moderated_out": [comment_id, ...]}
    participant_key is the reacting person's user id (int); value is 1 agree, -1 disagree,
    0 pass; only each person's latest reaction, only on visible comments (neither deleted nor
    hidden), ordered by comment then person. moderated_out lists the item's comments hidden by
    a moderator, so the analysis can say what it left out.
    """
    rows = db.session.execute(
        select(Reaction.user_id, Reaction.comment_id, Reaction.value)
        .join(Comment, Comment.id == Reaction.comment_id)
        .where(
            Reaction.item_id == item_id,
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
        )
        .order_by(Reaction.comment_id, Reaction.user_id)
    )
    votes = [(user_id, comment_id, value.score) for user_id, comment_id, value in rows]
    moderated_out = list(
        db.session.scalars(
            select(Comment.id)
            .where(Comment.item_id == item_id, Comment.hidden_at.is_not(None))
            .order_by(Comment.id)
        )
    )
    return {"votes": votes, "moderated_out": moderated_out}


def visible_comment_texts(item_id: int) -> list[dict[str, Any]]:
    """Visible comments as plain records (id, author id, Markdown body) for summaries."""
    rows = db.session.execute(
        select(Comment.id, Comment.author_id, Comment.body, Comment.agree_count,
               Comment.disagree_count, Comment.pass_count)
        .where(Comment.item_id == item_id, Comment.deleted_at.is_(None),
               Comment.hidden_at.is_(None))
        .order_by(Comment.id)
    )  # fmt: skip
    return [
        {"id": r[0], "author_id": r[1], "body": r[2],
         "counts": {"agree": r[3], "disagree": r[4], "pass": r[5]}}
        for r in rows
    ]  # fmt: skip
