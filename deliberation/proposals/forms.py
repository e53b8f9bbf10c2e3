"""Forms of the officials' queue (filters, review, response, progress updates) and of
citizens' feedback on it (judging a step, the satisfaction filter, following a proposal)."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length

from deliberation.core.forms import CleanTextForm
from deliberation.proposals.judgements import COMMENT_MAX_LENGTH
from deliberation.proposals.models import (
    PROPOSAL_STATE_LABELS,
    RESPONSE_STATES,
    SATISFACTION_LABELS,
    JudgementStep,
    ProposalState,
)


class QueueFilterForm(CleanTextForm):
    class Meta:
        csrf = False  # a read-only GET filter

    division = SelectField(_l("Division"), coerce=str, choices=[])
    state = SelectField(_l("State"), coerce=str, choices=[])
    due = SelectField(_l("Due"), coerce=str, choices=[])


def state_filter_choices() -> list[SelectChoice]:
    return [SelectChoice("", str(_l("Any state")))] + [
        SelectChoice(state.value, str(PROPOSAL_STATE_LABELS[state])) for state in ProposalState
    ]


def due_filter_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", str(_l("Any due date"))),
        SelectChoice("overdue", str(_l("Overdue"))),
        SelectChoice("week", str(_l("Due within 7 days"))),
    ]


class ResponseForm(CleanTextForm):
    decision = SelectField(
        _l("Decision"),
        choices=lambda: [
            SelectChoice(s.value, str(PROPOSAL_STATE_LABELS[s])) for s in RESPONSE_STATES
        ],
        validators=[InputRequired()],
    )
    text = TextAreaField(
        _l("Public response"),
        validators=[Length(max=20_000)],
        description=_l("Required. Everyone can read it; Markdown is allowed."),
    )


class ProgressForm(CleanTextForm):
    advance_to = SelectField(_l("Stage"), choices=[])
    text = TextAreaField(
        _l("Progress note"),
        validators=[Length(max=20_000)],
        description=_l("Required. What was done, what comes next."),
    )


#: The question each judgement form asks: the answer and the implementation are judged apart,
#: so a screen reader user hears which one a form is about.
JUDGEMENT_QUESTIONS = {
    JudgementStep.ANSWER: _l("Does the answer address the proposal?"),
    JudgementStep.IMPLEMENTATION: _l("Does what was done deliver the proposal?"),
}
#: The accessible name of each judgement form.
JUDGEMENT_FORM_NAMES = {
    JudgementStep.ANSWER: _l("Judge the officials' answer"),
    JudgementStep.IMPLEMENTATION: _l("Judge the implementation"),
}


class JudgementForm(CleanTextForm):
    """A person's judgement of one step (the answer or the implementation); its question and
    its name say which."""

    value = RadioField(
        _l("Your judgement"),  # replaced by the step's question
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

    def __init__(self, step: JudgementStep | None = None, **kwargs) -> None:
        if step is not None:
            kwargs["prefix"] = f"judge-{step.value}"
        super().__init__(**kwargs)
        self.step = step
        if step is not None:
            self.value.label.text = str(JUDGEMENT_QUESTIONS[step])

    @property
    def accessible_name(self) -> str:
        return str(JUDGEMENT_FORM_NAMES[self.step]) if self.step is not None else ""


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


class ReplyForm(CleanTextForm):
    """A reply to a judgement's comment or to a reply; the client id makes a resubmitted form
    post only once."""

    body = TextAreaField(
        _l("Your reply"),
        validators=[InputRequired(message=_l("Please write your reply."))],
        description=_l("Plain text, at most 2,000 characters. Shown with your name."),
        render_kw={"maxlength": COMMENT_MAX_LENGTH},
    )
    parent_id = HiddenField()
    client_id = HiddenField()


class EditReplyForm(CleanTextForm):
    body = TextAreaField(
        _l("Your reply"),
        validators=[InputRequired(message=_l("Please write your reply."))],
        render_kw={"maxlength": COMMENT_MAX_LENGTH},
    )


class ModerationReasonForm(CleanTextForm):
    """Why a member flags something, or the public reason a facilitator hides or restores it."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(message=_l("Please give a reason.")), Length(max=500)],
        render_kw={"maxlength": 500, "rows": 2},
    )


class FollowForm(CleanTextForm):
    """Follow a proposal or stop following it. The button sends the choice itself ("yes" or
    "no"), not a toggle: a form sent twice, or from a page left open, does what it said."""

    following = HiddenField(validators=[InputRequired(), AnyOf(["yes", "no"])])
