"""Forms for creating a roundtable session and registering for a seat."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    division_id = SelectField(_l("Division"), coerce=int)
    briefing = TextAreaField(
        _l("Briefing"),
        validators=[Length(max=20000)],
        description=_l("What participants read before they talk. Markdown is allowed."),
    )
    starts_at = DateTimeLocalField(
        _l("Starts at (UTC)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    capacity = IntegerField(
        _l("Capacity"), default=5000, validators=[DataRequired(), NumberRange(1, 100_000)]
    )
    table_size = IntegerField(
        _l("People per table"), default=10, validators=[DataRequired(), NumberRange(6, 12)]
    )
    ideas_per_round = IntegerField(
        _l("Ideas per table per round"), default=5, validators=[DataRequired(), NumberRange(1, 20)]
    )
    threshold_percent = IntegerField(
        _l("Support a theme needs to become an agenda item (%)"),
        default=50,
        validators=[DataRequired(), NumberRange(0, 100)],
    )


class RegisterForm(FlaskForm):
    as_table_facilitator = BooleanField(_l("I will facilitate a table"))
