"""Forms of evaluation surveys: building one from the bank, and answering it."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from deliberation.core.forms import CleanTextForm
from deliberation.evaluations.models import (
    FREE_TEXT_PROMPT,
    LIKERT,
    LIKERT_LABELS,
    QUESTION_BANK,
    Survey,
    question_label,
)
from deliberation.evaluations.services import FREE_TEXT_MAX_LENGTH, TITLE_MAX_LENGTH


class SurveyBuilderForm(CleanTextForm):
    title = StringField(
        _l("Title"),
        validators=[InputRequired(), Length(max=TITLE_MAX_LENGTH)],
        default=_l("How did this go?"),
    )
    questions = SelectMultipleField(
        _l("Statements to rate from 1 to 5"),
        choices=lambda: [SelectChoice(key, str(label)) for key, label in QUESTION_BANK.items()],
        default=list(QUESTION_BANK),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired(message=_l("Please choose at least one statement."))],
    )
    free_text = BooleanField(_l("End with the free-text question"), default=True)


def likert_choices() -> list[SelectChoice]:
    return [SelectChoice(value, f"{value} · {LIKERT_LABELS[value]}") for value in LIKERT]


def answer_form_for(survey: Survey) -> CleanTextForm:
    """A form with one 1-to-5 question per statement of the survey (each may be skipped)
    and, if the survey asks it, the free-text question."""

    class AnswerForm(CleanTextForm):
        pass

    for key in survey.question_keys:
        field = RadioField(
            question_label(key), choices=likert_choices(), coerce=int, validate_choice=False
        )
        setattr(AnswerForm, f"q_{key}", field)
    if survey.asks_free_text:
        AnswerForm.free_text = TextAreaField(
            FREE_TEXT_PROMPT, validators=[Length(max=FREE_TEXT_MAX_LENGTH)]
        )
    return AnswerForm()
