"""Forms for creating a roundtable session and registering for a seat."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from deliberation.core.forms import CleanTextForm
from deliberation.roundtables.models import THEME_DESTINATION_LABELS, ThemeDestination


class SessionForm(CleanTextForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    division_id = SelectField(_l("Division"), coerce=int)
    briefing = TextAreaField(
        _l("Briefing"),
        validators=[Length(max=20000)],
        description=_l("What participants read before they talk. Markdown is allowed."),
    )
    starts_at = DateTimeLocalField(
        _l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
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
        _l("Support a theme needs to pass (%)"),
        default=50,
        # InputRequired, not DataRequired: 0 % is a real answer (every theme passes).
        validators=[InputRequired(), NumberRange(0, 100)],
    )
    theme_destination = RadioField(
        _l("Where passing themes go"),
        choices=[SelectChoice(d.value, THEME_DESTINATION_LABELS[d]) for d in ThemeDestination],
        default=ThemeDestination.AGENDA_ITEM.value,
    )
    #: Checked against the open items by the service (`linkable_agenda_items`), not here: the
    #: page lists them grouped by division.
    agenda_item_ids = SelectMultipleField(
        _l("Agenda items this session is about"),
        coerce=int,
        validate_choice=False,
        description=_l(
            "Optional. Open agenda items of any division; their consensus summaries will show "
            "this session's polls and themes."
        ),
    )


class RegisterForm(CleanTextForm):
    as_table_facilitator = BooleanField(_l("I will facilitate a table"))
