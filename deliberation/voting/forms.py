"""Forms for opening a ballot and casting a vote."""

import secrets

from flask_babel import lazy_gettext as _l
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
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from deliberation.core.forms import CleanTextForm


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def new_client_id() -> str:
    """A fresh request id for a form: re-sending the same form is then a harmless retry."""
    return secrets.token_urlsafe(16)


class BallotForm(CleanTextForm):
    item_id = SelectField(_l("Agenda item"), coerce=int, validators=[InputRequired()])
    opens_at = DateTimeLocalField(
        _l("Opens at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    custom_options = TextAreaField(
        _l("Custom options"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One option per line. Leave empty for Yes / No / Abstain."),
    )
    divisions = CheckboxListField(
        _l("Only members of these divisions may vote (none ticked: every active member)"),
        coerce=int,
        choices=[],
    )
    quorum_percent = IntegerField(
        _l("Quorum: percentage of the eligible who must vote"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    threshold_percent = IntegerField(
        _l("Adoption threshold: percentage of yes among yes and no to exceed"),
        default=50,
        validators=[InputRequired(), NumberRange(min=0, max=99)],
    )
    results_live = BooleanField(_l("Show results by option while voting is open"))


class VoteForm(CleanTextForm):
    choice = RadioField(_l("Your vote"), validators=[DataRequired()], choices=[])
    client_id = HiddenField(validators=[DataRequired(), Length(min=8, max=64)])


class ReceiptLookupForm(CleanTextForm):
    class Meta:
        csrf = False  # a read-only GET lookup

    receipt = StringField(_l("Receipt code"), validators=[DataRequired(), Length(max=40)])


class PaperBallotForm(CleanTextForm):
    """Field-office staff enter one paper ballot of one ballot (the ballot is in the URL)."""

    voter_query = StringField(
        _l("Find the voter (name or email)"),
        validators=[Optional(), Length(max=120)],
        description=_l("Type part of the name or email, then press Search."),
    )
    #: The choices are the search's matches; the service re-checks the person's eligibility.
    voter_id = RadioField(
        _l("Voter"),
        coerce=int,
        choices=[],
        validate_choice=False,
        validators=[InputRequired(message=_l("Search for the voter and select them."))],
    )
    choice = RadioField(
        _l("Choice on the paper ballot"),
        choices=[],
        validators=[InputRequired(message=_l("Choose the option marked on the paper ballot."))],
    )
    slip_number = StringField(
        _l("Paper ballot number"),
        validators=[
            InputRequired(message=_l("Type the number printed on the paper ballot.")),
            Length(max=40),
        ],
        description=_l("The number printed on the paper ballot."),
    )
    identity_check = RadioField(
        _l("How you checked the voter's identity"),
        choices=[],
        validators=[InputRequired(message=_l("Choose how you checked the voter's identity."))],
    )
    identity_note = StringField(
        _l("Note"),
        validators=[Optional(), Length(max=200)],
        description=_l("Required when you checked another way: say how."),
    )
    client_id = HiddenField(validators=[DataRequired(), Length(min=8, max=64)])
