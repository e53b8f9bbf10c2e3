"""Account pages: register, log in and out, profile, password reset, language and text size."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from deliberation.accounts import categories, services
from deliberation.accounts.forms import (
    EmptyForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)
from deliberation.accounts.models import CategoryRequest, MemberCategory, User
from deliberation.core.errors import DomainError
from deliberation.core.realtime import disconnect_user
from deliberation.core.security import is_safe_redirect
from deliberation.extensions import db, limiter
from deliberation.mail import services as mail

bp = Blueprint("accounts", __name__)


def _login_account_key() -> str:
    return "login:" + services.normalise_email(request.form.get("email", ""))[:254]


def _redirect_next(default: str = "home.index"):
    target = request.values.get("next")
    return redirect(target if is_safe_redirect(target) else url_for(default))


@bp.app_template_global()
def pending_category_requests() -> int:
    """People waiting for their category to be confirmed: every breakdown by category says so."""
    return categories.pending_request_count()


@bp.app_template_global()
def latest_category_request(user: User) -> CategoryRequest | None:
    """A person's latest category request, for their admin page."""
    return categories.latest_request_of(user)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account and log in."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                display_name=form.display_name.data,
                email=form.email.data,
                password=form.password.data,
                preferred_language=form.preferred_language.data,
            )
            categories.choose_category(user, MemberCategory(form.member_category.data))
            mail.queue_address_confirmation(user)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            field = form.email if error.code == "email_taken" else form.password
            field.errors = [*field.errors, error.message]
        else:
            login_user(user)
            session["lang"] = user.preferred_language
            # The request's locale was chosen before the account existed: greet in the new one.
            with force_locale(user.preferred_language):
                flash(_("Welcome to Madang, %(name)s.", name=user.display_name), "success")
                if user.member_category.value != form.member_category.data:
                    flash(
                        _(
                            "You take part as a citizen until an administrator confirms your "
                            "category. Your profile shows the state of your request."
                        ),
                        "info",
                    )
            return redirect(url_for("home.index"))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_login_account_key,
    methods=["POST"],
)
def login():
    """Log in with email and password; the same answer whether or not the email is known."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            categories.end_council_term_of(user)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            session["lang"] = user.preferred_language
            return _redirect_next()
        form.password.errors = [_("That email and password do not match an active account.")]
    status = 401 if form.password.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out here and everywhere: the session token is rotated on the server."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("home.index"))
    user = current_user._get_current_object()
    services.end_all_sessions(user)
    db.session.commit()
    disconnect_user(user.id)
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """See and change one's own display name, language, text size; ask for another category."""
    form = ProfileForm(obj=current_user)
    if form.timezone.data is None:  # no zone stored, or none posted: the site's zone ("")
        form.timezone.data = ""
    pending = categories.pending_request_of(current_user)
    if request.method == "GET":
        shown = pending.requested_category if pending else current_user.member_category
        form.member_category.data = shown.value
    if form.validate_on_submit():
        services.update_profile(
            current_user,
            display_name=form.display_name.data,
            preferred_language=form.preferred_language.data,
            large_text=form.large_text.data,
            timezone=form.timezone.data,
        )
        categories.choose_category(current_user, MemberCategory(form.member_category.data))
        db.session.commit()
        session["lang"] = current_user.preferred_language
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    latest = categories.latest_request_of(current_user)
    return render_template(
        "accounts/profile.html", form=form, category_request=latest
    ), 200 if not form.errors else 400


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    """Send a reset link; the answer never reveals whether the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        mail.queue_password_reset(form.email.data)
        db.session.commit()  # the background sender takes the message from the outbox
        flash(_("If an account uses that email, a reset link is on its way."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str, invitation: bool = False):
    """Choose a new password from a reset link."""
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(
                token, form.password.data, current_app.config["SECRET_KEY"], invitation=invitation
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.password.errors = [*form.password.errors, error.message]
        else:
            # A reset ends every session; sockets opened with the old password go too.
            disconnect_user(user.id)
            flash(_("Your password is changed. Please log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template(
        "accounts/reset.html", form=form, invitation=invitation
    ), 200 if not form.errors else 400


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An appointed member chooses their first password from the invitation mail."""
    return reset_password(token, invitation=True)


@bp.post("/language")
def set_language():
    """Switch the interface language; remembered on the account when logged in."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.language.data
        if current_user.is_authenticated:
            current_user.preferred_language = form.language.data
            db.session.commit()
    return _redirect_next()


@bp.post("/large-text")
def toggle_large_text():
    """Turn large text on or off; remembered on the account when logged in."""
    form = EmptyForm()
    if form.validate_on_submit():
        enabled = not session.get("large_text", False)
        if current_user.is_authenticated:
            enabled = not current_user.large_text
            current_user.large_text = enabled
            db.session.commit()
        session["large_text"] = enabled
    return _redirect_next()
