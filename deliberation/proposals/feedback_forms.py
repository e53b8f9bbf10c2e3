"""Forms of citizens' feedback: judging a step, and the queue's satisfaction filter."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from deliberation.core.forms import CleanTextForm
from deliberation.proposals.forms import QueueFilterForm
from deliberation.proposals.judgements import COMMENT_MAX_LENGTH
from deliberation.proposals.models import SATISFACTION_LABELS


class JudgementForm(CleanTextForm):
    value = RadioField(
        _l("Does it address the proposal?"),
        choices=lambda: [
            SelectChoice(value.value, str(label)) for value, label in SATISFACTION_LABELS.items()
        ],
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[Length(max=COMMENT_MAX_LENGTH)],
        description=_l("Shown with your name, never with your judgement."),
    )


class FeedbackQueueFilterForm(QueueFilterForm):
    satisfaction = SelectField(_l("Citizens' judgement"), coerce=str, choices=[])


def satisfaction_filter_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", str(_l("Any judgement"))),
        SelectChoice("mostly_satisfied", str(_l("Mostly satisfied"))),
        SelectChoice("mostly_not", str(_l("Mostly not satisfied"))),
        SelectChoice("unjudged", str(_l("Answered, not judged yet"))),
        SelectChoice("contested", str(_l("Contested"))),
    ]
