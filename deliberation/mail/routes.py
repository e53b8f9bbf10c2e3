"""Mail pages: one-click unsubscribe, address confirmation, and the admins' Outbox."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from deliberation.accounts.forms import EmptyForm
from deliberation.accounts.permissions import admin_required
from deliberation.core.forms import commit_or_flash
from deliberation.extensions import csrf, db, limiter
from deliberation.mail import (
    delivery,  # noqa: F401 - declares the periodic sender
    followers,
    queries,
    reminders,  # noqa: F401 - declares the periodic reminder scans
    services,
    times,
)
from deliberation.mail.forms import MailPreferencesForm, optional_kinds
from deliberation.mail.models import FollowerMail, MailKind, MailStatus

bp = Blueprint("mail", __name__)


bp.add_app_template_filter(times.mail_time, "mail_time")


@bp.app_template_global()
def failed_mail_count() -> int:
    """Messages that could not be delivered: the admin menu shows them on every admin page."""
    return queries.outbox_counts()[MailStatus.FAILED]


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients POST here without a session; the signed token decides.
def unsubscribe(token: str):
    """Stop one kind of mail from the link in a message (the mail client may POST at once)."""
    user, kind = services.read_unsubscribe_token(token)
    if request.method == "POST":
        services.unsubscribe(user, kind)
        db.session.commit()
        return render_template("mail/unsubscribed.html", kind=kind)
    return render_template("mail/unsubscribe.html", kind=kind, token=token)


@bp.route("/mail/confirm/<token>", methods=["GET", "POST"])
def confirm_address(token: str):
    """Confirm one's email address from the link sent at registration."""
    form = EmptyForm()
    if form.validate_on_submit():
        services.confirm_address(token)
        db.session.commit()
        flash(_("Thank you: your email address is confirmed."), "success")
        return redirect(url_for("home.index"))
    return render_template("mail/confirm.html", form=form)


@bp.route("/mail/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """Choose which mail to receive and how often to hear of followed proposals."""
    form = MailPreferencesForm()
    if request.method == "GET":
        form.follower_mail.data = followers.follower_mail_of(current_user.id).value
        form.stopped.data = [k.value for k in queries.opted_out_kinds(current_user.id)]
    if form.validate_on_submit():
        followers.set_follower_mail(current_user, FollowerMail(form.follower_mail.data))
        stopped = {MailKind(value) for value in form.stopped.data}
        for kind in optional_kinds():
            if kind in stopped:
                services.unsubscribe(current_user, kind)
            else:
                services.resubscribe(current_user, kind)
        db.session.commit()
        flash(_("Your mail settings are saved."), "success")
        return redirect(url_for("mail.preferences"))
    status = 200 if not form.errors else 400
    return render_template(
        "mail/preferences.html",
        form=form,
        resend_form=EmptyForm(),
        confirmed=services.is_address_confirmed(current_user),
    ), status


@bp.post("/mail/confirm/again")
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    """Mail the address confirmation link again."""
    form = EmptyForm()
    if form.validate_on_submit():
        services.queue_address_confirmation(current_user)
        db.session.commit()
        flash(
            _("A confirmation link is on its way to %(email)s.", email=current_user.email), "info"
        )
    return redirect(url_for("mail.preferences"))


@bp.get("/admin/outbox")
@admin_required
def outbox():
    """Every message queued, sent, logged or failed, newest first, paginated."""
    status_value = request.args.get("status", "")
    status = MailStatus(status_value) if status_value in set(MailStatus) else None
    page = request.args.get("page", 1, type=int)
    counts = queries.outbox_counts()
    return render_template(
        "mail/outbox.html",
        pagination=queries.outbox_page(status, page),
        counts=counts,
        failed=counts[MailStatus.FAILED],
        status=status,
        statuses=list(MailStatus),
        log_mode=not current_app.config.get("MAIL_SERVER"),
    )


@bp.get("/admin/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int):
    """One message: its delivery history and, in the demo (no mail server), its text."""
    return render_template(
        "mail/outbox_message.html",
        message=queries.get_message(message_id),
        form=EmptyForm(),
        # With a real mail server the text (reset links!) is for the recipient alone.
        show_body=not current_app.config.get("MAIL_SERVER"),
    )


@bp.post("/admin/outbox/<int:message_id>/retry")
@admin_required
def retry_message(message_id: int):
    """Send a failed message again."""
    message = queries.get_message(message_id)
    form = EmptyForm()
    if form.validate_on_submit():
        _done, refused = commit_or_flash(lambda: services.requeue(current_user, message))
        if not refused:
            flash(_("The message is queued again."), "success")
    return redirect(url_for("mail.outbox_message", message_id=message_id))
