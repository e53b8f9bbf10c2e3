"""Forms for the administration pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from deliberation.accounts.models import ROLE_LABELS, Role
from deliberation.core.forms import CleanTextForm


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[SelectChoice]:
    """The roles an admin may give, labelled in the viewer's language (built per request)."""
    return [SelectChoice(r.value, str(ROLE_LABELS[r])) for r in Role if r != Role.CITIZEN]


class UserAccessForm(CleanTextForm):
    roles = CheckboxListField(_l("Roles"), choices=role_choices)
    #: Filled per request with the divisions, named in the viewer's language.
    divisions = CheckboxListField(_l("Divisions"), coerce=int, choices=[])
    is_active = BooleanField(_l("Account active"))


class DivisionForm(CleanTextForm):
    slug = StringField(
        _l("Short name"),
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(r"^[a-z0-9-]+$", message=_l("Use lower-case letters, digits and dashes.")),
        ],
    )
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    name_ko = StringField(_l("Name in Korean"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    is_active = BooleanField(_l("Active"), default=True)


class CategoryDecisionForm(CleanTextForm):
    """Confirm or decline one category request; declining needs a reason."""

    reason = TextAreaField(_l("Reason (shown to the person)"), validators=[Length(max=1000)])
    decision = SelectField(
        choices=[SelectChoice("confirm", _l("Confirm")), SelectChoice("decline", _l("Decline"))],
        validators=[DataRequired()],
    )


class RosterUploadForm(CleanTextForm):
    """The council roster as a CSV file, checked and shown before anything is written."""

    roster = FileField(_l("Roster (CSV file)"), validators=[FileRequired()])


class RosterConfirmForm(CleanTextForm):
    """The checked roster sent back for import."""

    csv_text = HiddenField(validators=[DataRequired()])
