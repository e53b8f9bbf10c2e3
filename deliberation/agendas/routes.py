"""URL rules of the agendas feature: item lists, item pages, comments, moderation."""

import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from deliberation.accounts.permissions import facilitator_required
from deliberation.accounts.queries import all_divisions
from deliberation.agendas import queries, services
from deliberation.agendas.forms import (
    CommentForm,
    EditCommentForm,
    ItemForm,
    ReactionForm,
    ReasonForm,
    state_choices,
)
from deliberation.agendas.models import COMMENT_MAX_LENGTH, FRAME_DEPTH, Comment, ItemState
from deliberation.agendas.permissions import (
    can_moderate,
    can_start_discussion,
    can_withdraw,
    is_private_draft,
)
from deliberation.core.errors import DomainError
from deliberation.core.forms import commit_or_flash, commit_or_show_on
from deliberation.core.sanitize import clean_text
from deliberation.db import utcnow
from deliberation.extensions import db

bp = Blueprint("agendas", __name__, url_prefix="/agendas")

#: The id the hidden comment template uses; the page script swaps in real ids.
TEMPLATE_ID = 987654321


@bp.app_template_filter("agenda_time")
def agenda_time(iso: str | None) -> str:
    """An ISO timestamp as a short local date and time."""
    if not iso:
        return ""
    return format_datetime(datetime.fromisoformat(iso), "short")


def _viewer() -> Any:
    return current_user._get_current_object() if current_user.is_authenticated else None


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _after_arg() -> str | None:
    value = request.args.get("after", "")
    if not value or len(value) > 200 or not all(ch.isdigit() or ch == "/" for ch in value):
        return None
    return value


def _thread_context(item, entries: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [e["comment"]["id"] for e in entries if e["kind"] == "comment"]
    return {
        "item": item,
        "entries": entries,
        "mine": queries.viewer_reactions(_viewer_id(), ids),
        "can_mod": can_moderate(_viewer()),
        "now_iso": utcnow().isoformat(),
        "seq": item.event_seq,  # loaded with the item, before the comments: nothing is missed
        "template_id": TEMPLATE_ID,
        "max_length": COMMENT_MAX_LENGTH,
    }


def _new_comment_form(parent_id: int | None = None) -> CommentForm:
    form = CommentForm()
    if request.method == "GET":
        form.client_id.data = uuid.uuid4().hex
        form.parent_id.data = str(parent_id) if parent_id else ""
    return form


# --- Item lists --------------------------------------------------------------------------------


def _list_items(division=None):
    state_value = request.args.get("state", "")
    state = ItemState(state_value) if state_value in {s.value for s in ItemState} else None
    division_id = division.id if division else request.args.get("division", type=int)
    text = clean_text(request.args.get("q", ""))[:100]  # refused as in a form, on any database
    pagination = queries.list_items(
        _viewer(), state=state, division_id=division_id, text=text, page=_page_arg()
    )
    item_ids = [item.id for item in pagination.items]
    return render_template(
        "agendas/index.html",
        pagination=pagination,
        counts=queries.comment_counts(item_ids),
        divisions=all_divisions(active_only=True),
        division=division,
        state=state_value if state else "",
        division_id=division_id,
        q=text,
        state_choices=state_choices(),
    )


@bp.get("/")
def index():
    """All agenda items, filtered by state, division and words; newest first."""
    return _list_items()


@bp.get("/division/<slug>")
def division_items(slug: str):
    """The agenda items of one division."""
    division = queries.division_by_slug(slug)
    if division is None:
        abort(404)
    return _list_items(division)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def propose():
    """Propose a new agenda item as a draft."""
    form = ItemForm()
    locale = str(get_locale() or "en")
    form.division_id.choices = [SelectChoice(d.id, d.name_for(locale)) for d in all_divisions(True)]
    if request.method == "GET" and request.args.get("division", type=int):
        form.division_id.data = request.args.get("division", type=int)
    if form.validate_on_submit():
        try:
            item = services.propose_item(
                current_user, division_id=form.division_id.data, title=form.title.data,
                body=form.body.data or "",
            )  # fmt: skip
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.title.errors = [*form.title.errors, error.message]
        else:
            flash(_("Your item was saved as a draft."), "success")
            return redirect(url_for("agendas.show_item", item_id=item.id))
    return render_template("agendas/propose.html", form=form), 200 if not form.errors else 400


@bp.post("/<int:item_id>/start-discussion")
@login_required
def start_discussion(item_id: int):
    """A facilitator opens a draft for discussion."""
    return _state_change(item_id, services.start_discussion, _("The discussion is open."))


@bp.post("/<int:item_id>/withdraw")
@login_required
def withdraw(item_id: int):
    """The proposer or a facilitator withdraws the item."""
    return _state_change(item_id, services.withdraw_item, _("The item was withdrawn."))


def _state_change(item_id: int, change, message: str):
    if not ReactionForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for("agendas.show_item", item_id=item_id))
    _done, refused = commit_or_flash(lambda: change(current_user, item_id))
    if refused:
        return redirect(url_for("agendas.show_item", item_id=item_id)), 303
    flash(message, "success")
    return redirect(url_for("agendas.show_item", item_id=item_id))


# --- Item page and thread slices ---------------------------------------------------------------


@bp.get("/<int:item_id>")
def show_item(item_id: int):
    """An item with the first page of its discussion; the rest loads on demand, live."""
    # The login proxy, read only when the item is a draft: loading the viewer before the item
    # made their roles and divisions load twice on every item page.
    item = services.visible_item(current_user, item_id)
    viewer = _viewer()
    page = queries.thread_page(item.id)
    total, newest_comment_id = queries.comment_total(item.id)
    return render_template(
        "agendas/item.html",
        **_thread_context(item, page["entries"]),
        more_after=page["more_after"],
        anchor=None,
        total=total,
        newest_comment_id=newest_comment_id,
        form=_new_comment_form(),
        can_start=can_start_discussion(viewer, item),
        can_withdraw=can_withdraw(viewer, item),
        private_draft=is_private_draft(item),
    )


@bp.get("/<int:item_id>/comments")
def more_comments(item_id: int):
    """The next page of the discussion's top level (a fragment for the page script)."""
    item = services.visible_item(_viewer(), item_id)
    page = queries.thread_page(item.id, after=_after_arg())
    context = _thread_context(item, page["entries"])
    if request.args.get("fragment"):
        return render_template(
            "agendas/_entries.html", **context, more_after=page["more_after"], anchor=None
        )
    return render_template(
        "agendas/slice.html", **context, more_after=page["more_after"], focus=None, parent=None
    )


@bp.get("/<int:item_id>/comments/<int:comment_id>")
def show_comment(item_id: int, comment_id: int):
    """One comment with its replies: "continue this thread" and "more replies" land here."""
    item = services.visible_item(_viewer(), item_id)
    row = queries.comment_with_author(comment_id)
    if row is None or row[0].item_id != item.id:
        abort(404)
    comment, author_name = row
    more_after = None
    if comment.frame_level == FRAME_DEPTH - 1:  # its replies start a new frame
        page = queries.thread_page(item.id, anchor_id=comment.id, after=_after_arg())
        entries, more_after, anchor = page["entries"], page["more_after"], comment.id
        entries = [{**e, "level": e["level"] + 1} for e in entries]
    else:
        entries = queries.subtree_slice(comment, after=_after_arg())
        anchor = None
    if request.args.get("fragment"):
        return render_template(
            "agendas/_entries.html", **_thread_context(item, entries), more_after=more_after,
            anchor=anchor, focus=comment,
        )  # fmt: skip
    payload = queries.comment_payload(comment, author_name)
    focus = {"kind": "comment", "level": 0, "comment": payload}
    return render_template(
        "agendas/slice.html",
        **_thread_context(item, [focus, *entries]),
        more_after=more_after,
        anchor=anchor,
        focus=comment,
        parent=queries.comment_context(comment),
    )


# --- Comments ----------------------------------------------------------------------------------


@bp.post("/<int:item_id>/comments")
@login_required
def post_comment(item_id: int):
    """Post a comment or a reply with a plain form (works without JavaScript)."""
    item = services.visible_item(_viewer(), item_id)
    form = CommentForm()
    parent_id = form.parent_id.data if (form.parent_id.data or "").isdigit() else None
    status = 400
    if form.validate_on_submit():
        posted, status = commit_or_show_on(form.body, lambda: services.post_comment(
            current_user, item.id, form.body.data,
            parent_id=int(parent_id) if parent_id else None,
            client_id=(form.client_id.data or "")[:64] or None,
        ))  # fmt: skip
        if posted is not None:
            flash(_("Your comment was posted."), "success")
            return redirect(_comment_url(posted[0]))
    parent = queries.comment_with_author(int(parent_id)) if parent_id else None
    return render_template(
        "agendas/reply.html",
        item=item,
        form=form,
        parent=queries.comment_payload(*parent) if parent else None,
    ), status


def _comment_url(comment: Comment) -> str:
    """Where a comment can be seen: the item page for a top-level one, else its own page."""
    if comment.parent_id is None:
        anchor = f"comment-{comment.id}"
        return url_for("agendas.show_item", item_id=comment.item_id, _anchor=anchor)
    return url_for(
        "agendas.show_comment", item_id=comment.item_id, comment_id=comment.id,
        _anchor=f"comment-{comment.id}",
    )  # fmt: skip


@bp.get("/comments/<int:comment_id>/reply")
@login_required
def reply(comment_id: int):
    """The reply form for one comment (the page script opens it inline instead)."""
    row = queries.comment_with_author(comment_id)
    if row is None:
        abort(404)
    item = services.visible_item(_viewer(), row[0].item_id)
    return render_template(
        "agendas/reply.html",
        item=item,
        form=_new_comment_form(comment_id),
        parent=queries.comment_payload(*row),
    )


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int):
    """The author corrects a comment within 15 minutes of posting."""
    # The form shows the raw body, even of a hidden comment: authors only, on GET as on POST.
    comment = services.own_comment(current_user, comment_id, deleted_ok=True)
    form = EditCommentForm()
    status = 200
    if request.method == "GET":
        form.body.data = comment.body
    elif form.validate_on_submit():
        edited, status = commit_or_show_on(
            form.body, lambda: services.edit_comment(current_user, comment.id, form.body.data)
        )
        if edited is not None:
            flash(_("Your comment was updated."), "success")
            return redirect(_comment_url(comment))
    else:
        status = 400
    return render_template("agendas/edit.html", comment=comment, form=form), status


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
@login_required
def delete_comment(comment_id: int):
    """The author deletes a comment; its replies stay under a "[deleted]" placeholder."""
    # Someone else's comment is refused before the form, on GET as on POST, the same way.
    comment = services.own_comment(current_user, comment_id, deleted_ok=True)
    form = ReactionForm()
    if form.validate_on_submit():
        _done, refused = commit_or_flash(lambda: services.delete_comment(current_user, comment.id))
        if refused:
            return render_template("agendas/delete.html", comment=comment, form=form), 400
        flash(_("Your comment was deleted."), "success")
        return redirect(_comment_url(comment))
    return render_template("agendas/delete.html", comment=comment, form=form)


@bp.post("/comments/<int:comment_id>/react")
@login_required
def react(comment_id: int):
    """Agree, disagree or pass on a comment with a plain form."""
    comment = services.visible_comment(_viewer(), comment_id)
    form = ReactionForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(_comment_url(comment))
    value = request.form.get("value", "")
    _done, refused = commit_or_flash(lambda: services.react(current_user, comment.id, value))
    if refused:
        return redirect(_comment_url(comment)), 303
    flash(_("Your reaction was saved."), "success")
    return redirect(_comment_url(comment))


@bp.route("/comments/<int:comment_id>/flag", methods=["GET", "POST"])
@login_required
def flag_comment(comment_id: int):
    """Report a comment to the facilitators, with a reason."""
    row = queries.comment_with_author(comment_id)
    if row is None:
        abort(404)
    services.visible_comment(_viewer(), comment_id)
    form = ReasonForm()
    status = 200
    if form.validate_on_submit():
        try:
            _flag, created = services.flag_comment(current_user, comment_id, form.reason.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, error.message]
            status = error.status_code
        else:
            if created:
                flash(_("Thank you. The facilitators will look at this comment."), "success")
            else:
                flash(_("You have already flagged this comment; the facilitators will look at it."),
                      "info")  # fmt: skip
            return redirect(_comment_url(row[0]))
    elif request.method == "POST":
        status = 400
    payload = queries.comment_payload(*row)
    return render_template("agendas/flag.html", comment=payload, form=form), status


# --- Moderation --------------------------------------------------------------------------------


@bp.get("/moderation")
@facilitator_required
def moderation():
    """The facilitators' queue of flagged comments, most flagged first."""
    queue = queries.moderation_queue(_page_arg())
    reasons = queries.open_flag_reasons([row[0].id for row in queue["rows"]])
    return render_template("agendas/moderation.html", queue=queue, reasons=reasons)


@bp.route("/comments/<int:comment_id>/moderate", methods=["GET", "POST"])
@facilitator_required
def moderate(comment_id: int):
    """A facilitator hides or restores a comment with a public reason, or dismisses flags."""
    comment = services.get_comment(comment_id)
    form = ReasonForm()
    action = request.form.get("action", "")
    status = 200
    if request.method == "POST" and action == "dismiss":
        if ReactionForm().validate_on_submit():
            _done, refused = commit_or_flash(
                lambda: services.dismiss_flags(current_user, comment.id)
            )
            if not refused:
                flash(_("The flags were dismissed."), "success")
        return redirect(url_for("agendas.moderation"))
    if form.validate_on_submit():
        change = services.restore_comment if comment.is_hidden else services.hide_comment
        try:
            change(current_user, comment.id, form.reason.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, error.message]
            status = error.status_code
        else:
            flash(_("Done. Everyone viewing the item sees the change."), "success")
            return redirect(_comment_url(comment))
    elif request.method == "POST":
        status = 400
    reasons = queries.open_flag_reasons([comment.id])[comment.id]
    return render_template(
        "agendas/moderate.html", comment=comment, form=form, reasons=reasons
    ), status
