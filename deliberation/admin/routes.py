"""Administration pages: people, divisions, the audit log. Admins only."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from deliberation.accounts import categories, queries, roster, services
from deliberation.accounts.models import Division, Role
from deliberation.accounts.permissions import admin_required, role_required
from deliberation.admin.forms import (
    CategoryDecisionForm,
    DivisionForm,
    RosterConfirmForm,
    RosterUploadForm,
    UserAccessForm,
)
from deliberation.core.audit import recent_entries
from deliberation.core.errors import DomainError
from deliberation.core.realtime import disconnect_user
from deliberation.core.sanitize import clean_text
from deliberation.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def index():
    """The administration start page."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
@admin_required
def users():
    """Find people, paginated."""
    text = clean_text(request.args.get("q", ""))[:100]  # refused as in a form, on any database
    page = request.args.get("page", 1, type=int)
    return render_template("admin/users.html", pagination=queries.search_users(text, page), q=text)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_access(user_id: int):
    """Set a person's roles, divisions and whether their account is active."""
    user = services.get_user(user_id)
    form = UserAccessForm()
    locale = str(get_locale())
    form.divisions.choices = [
        SelectChoice(d.id, d.name_for(locale)) for d in queries.all_divisions()
    ]
    if request.method == "GET":
        form.roles.data = [r.value for r in user.roles if r != Role.CITIZEN]
        form.divisions.data = [d.id for d in user.divisions]
        form.is_active.data = user.is_active_account
    if form.validate_on_submit():
        try:
            services.set_roles(current_user, user, {Role(r) for r in form.roles.data})
            services.set_divisions(current_user, user, form.divisions.data)
            if form.is_active.data != user.is_active_account:
                services.set_active(current_user, user, form.is_active.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("admin/user.html", user=user, form=form), 400
        if not user.is_active_account:
            disconnect_user(user.id)
        flash(_("Saved."), "success")
        return redirect(url_for("admin.user_access", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form), 200 if not form.errors else 400


@bp.get("/divisions")
@admin_required
def divisions():
    """All divisions."""
    return render_template("admin/divisions.html", divisions=queries.all_divisions())


@bp.route("/divisions/new", methods=["GET", "POST"])
@bp.route("/divisions/<int:division_id>", methods=["GET", "POST"])
@admin_required
def edit_division(division_id: int | None = None):
    """Create or edit a division."""
    division = db.session.get(Division, division_id) if division_id else None
    if division_id and division is None:
        abort(404)
    form = DivisionForm(obj=division)
    if form.validate_on_submit():
        try:
            services.save_division(
                current_user,
                slug=form.slug.data,
                name_en=form.name_en.data,
                name_ko=form.name_ko.data,
                description=form.description.data or "",
                is_active=form.is_active.data,
                division=division,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, error.message]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.divisions"))
    status = 200 if not form.errors else 400
    return render_template("admin/division.html", form=form, division=division), status


@bp.get("/audit")
@admin_required
def audit_log():
    """The audit log, newest first."""
    page = request.args.get("page", 1, type=int)
    prefix = clean_text(request.args.get("action", ""))[:80] or None
    return render_template(
        "admin/audit.html", pagination=recent_entries(page, action_prefix=prefix), action=prefix
    )


@bp.get("/category-requests")
@role_required(Role.COORDINATOR)
def category_requests():
    """Requests for a member category that this admin or coordinator may decide, paginated."""
    page = request.args.get("page", 1, type=int)
    return render_template(
        "admin/category_requests.html",
        pagination=categories.pending_requests_page(current_user, page),
        form=CategoryDecisionForm(),
    )


@bp.post("/category-requests/<int:request_id>")
@role_required(Role.COORDINATOR)
def decide_category_request(request_id: int):
    """Confirm or decline one request; the person is told by mail and on their profile."""
    category_request = categories.get_request(request_id)
    form = CategoryDecisionForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "error")
        return redirect(url_for("admin.category_requests")), 303
    try:
        if form.decision.data == "confirm":
            categories.confirm_request(current_user, category_request, form.reason.data or "")
            message = _("Confirmed: %(name)s", name=category_request.user.display_name)
        else:
            categories.decline_request(current_user, category_request, form.reason.data or "")
            message = _("Declined: %(name)s", name=category_request.user.display_name)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        flash(error.message, "error")
        return redirect(url_for("admin.category_requests")), 303
    flash(message, "success")
    return redirect(url_for("admin.category_requests")), 303


@bp.route("/roster", methods=["GET", "POST"])
@admin_required
def roster_upload():
    """Upload the council roster; every row is checked and shown before anything is written."""
    form = RosterUploadForm()
    if not form.validate_on_submit():
        status = 200 if not form.errors else 400
        return render_template("admin/roster.html", form=form, preview=None), status
    raw = form.roster.data.read(roster.MAX_BYTES + 1)
    if len(raw) > roster.MAX_BYTES:
        form.roster.errors = [_("The file is larger than 1 MB.")]
        return render_template("admin/roster.html", form=form, preview=None), 400
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.roster.errors = [_("Save the file as CSV in UTF-8 and try again.")]
        return render_template("admin/roster.html", form=form, preview=None), 400
    preview = roster.parse_roster(text)
    confirm = RosterConfirmForm(formdata=None, csv_text=text)
    return render_template(
        "admin/roster.html", form=form, preview=preview, confirm=confirm
    ), 200 if preview.ok else 400


@bp.post("/roster/import")
@admin_required
def roster_import():
    """Import a checked roster: members get their verified categories and an invitation mail."""
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "error")
        return redirect(url_for("admin.roster_upload")), 303
    try:
        members = roster.import_roster(current_user, form.csv_text.data)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.roster_upload")), 303
    flash(
        ngettext(
            "%(num)d member imported; each was mailed an invitation (see the outbox).",
            "%(num)d members imported; each was mailed an invitation (see the outbox).",
            len(members),
        ),
        "success",
    )
    return redirect(url_for("admin.users")), 303
