"""Forms for registering, logging in, the profile and password reset."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from deliberation.accounts.models import CATEGORY_LABELS, MemberCategory
from deliberation.accounts.passwords import check_password_strength
from deliberation.core.errors import DomainError
from deliberation.core.forms import CleanTextForm
from deliberation.core.i18n import COMMON_TIMEZONES, zone_name

LANGUAGE_CHOICES = [
    SelectChoice("ko", "한국어", render_kw={"lang": "ko"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
]


CATEGORY_HELP = _l(
    "Categories other than citizen are confirmed by an administrator; until then you take part "
    "as a citizen."
)


def timezone_choices() -> list[tuple[str, str]]:
    """The site's own zone first (empty: follows the site), then the common zones, each named
    in the page's language; built per request so the names follow the language."""
    site = current_app.config["DEFAULT_TIMEZONE"]
    return [("", _("Site default: %(zone)s", zone=zone_name(site)))] + [
        (zone, zone_name(zone)) for zone in COMMON_TIMEZONES
    ]


def category_choices() -> list[SelectChoice]:
    return [SelectChoice(c.value, str(CATEGORY_LABELS[c])) for c in MemberCategory]


class StrongPassword:
    """The password rules (`passwords.check_password_strength`, their one home) checked with
    the form's other fields, so a person sees every problem at once, not the length only after
    the two passwords match; the service checks again."""

    def __init__(self, email_field: str | None = None) -> None:
        self.email_field = email_field

    def __call__(self, form: CleanTextForm, field: PasswordField) -> None:
        email = (form[self.email_field].data or "") if self.email_field else ""
        try:
            check_password_strength(field.data or "", email)
        except DomainError as error:
            raise ValidationError(error.message) from None


class RegistrationForm(CleanTextForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), StrongPassword(email_field="email")],
        description=_l("At least 10 characters. A short sentence works well."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    member_category = SelectField(
        _l("I take part as"),
        choices=category_choices,
        description=CATEGORY_HELP,
    )


class LoginForm(CleanTextForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()


class ProfileForm(CleanTextForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    member_category = SelectField(
        _l("I take part as"),
        choices=category_choices,
        description=CATEGORY_HELP,
    )
    large_text = BooleanField(_l("Large text"))
    timezone = SelectField(
        _l("Time zone"),
        choices=timezone_choices,
        description=_l("Times on the site are shown in this zone."),
    )


class ForgotPasswordForm(CleanTextForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(CleanTextForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), StrongPassword()])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class LanguageForm(CleanTextForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    next = HiddenField()


class EmptyForm(CleanTextForm):
    """A form with only the CSRF token, for buttons that change state."""
