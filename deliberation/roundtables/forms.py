"""Forms for creating a roundtable session and registering for a seat."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
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
from deliberation.roundtables.models import (
    PASS_RULE_LABELS,
    THEME_DESTINATION_LABELS,
    PassRule,
    TakesPart,
    ThemeDestination,
)
from deliberation.roundtables.staffing import ROSTER_MAX_BYTES


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
    hall_tables = IntegerField(
        _l("Tables in the hall (0: everyone online)"),
        default=0,
        # left empty (or not on an older form): no hall tables
        validators=[Optional(), NumberRange(0, 500)],
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
    pass_rule = RadioField(
        _l("A theme that reaches exactly the threshold"),
        choices=[SelectChoice(r.value, PASS_RULE_LABELS[r]) for r in PassRule],
        default=PassRule.AT_LEAST.value,
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
    takes_part = RadioField(
        _l("Will you take part in the hall or online?"),
        choices=[
            SelectChoice(TakesPart.ONLINE.value, _l("Online, on my own device")),
            SelectChoice(TakesPart.HALL.value, _l("In the hall, at a table there")),
        ],
        # a form posted without the question (older pages, tests) registers online
        default=TakesPart.ONLINE.value,
    )


class BulkStaffingForm(CleanTextForm):
    """The people page's action on the people ticked in the list."""

    action = SelectField(
        _l("Do this to the people ticked"),
        choices=[
            SelectChoice("table_facilitator", _l("Make them table facilitators")),
            SelectChoice("theme_team", _l("Put them on the theme team")),
            SelectChoice("participant", _l("Make them participants (take the role back)")),
            SelectChoice("move", _l("Move them to the table chosen below")),
        ],
    )
    #: The tables are the session's, filled in by the view; checked by the service.
    table_id = SelectField(_l("Table"), coerce=int, validate_choice=False, default=0)


class RosterForm(CleanTextForm):
    """A roster to check: a CSV file, or the same lines pasted."""

    roster_file = FileField(_l("Roster file (CSV: email, role, table)"))
    roster_text = TextAreaField(
        _l("Or paste the roster"),
        validators=[Length(max=ROSTER_MAX_BYTES)],
        description=_l(
            "One person a line: email, role (participant, table_facilitator or theme_team), "
            "table number (optional). A first line “email,role,table” is skipped."
        ),
    )


class RosterConfirmForm(CleanTextForm):
    """Apply the roster that was just previewed (it travels back in a hidden field)."""

    roster_text = HiddenField(validators=[DataRequired(), Length(max=ROSTER_MAX_BYTES)])


class MergeTableForm(CleanTextForm):
    """Merge a table without a facilitator into a neighbour."""

    #: Its own id: the people page also holds the bulk form's table_id.
    table_id = SelectField(
        _l("Table without a facilitator"), coerce=int, validate_choice=False, id="merge-table_id"
    )
    into_id = SelectField(
        _l("Merge into"), coerce=int, validate_choice=False, default=0,
        description=_l("Its people, chat and ideas move there; the empty table is removed."),
    )  # fmt: skip
