"""Forms for proposing items, commenting, reacting, flagging and moderating."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from deliberation.agendas.models import COMMENT_MAX_LENGTH, ITEM_STATE_LABELS, ItemState
from deliberation.agendas.services import ITEM_BODY_MAX_LENGTH, REASON_MAX_LENGTH, TITLE_MAX_LENGTH
from deliberation.core.forms import CleanTextForm


def state_choices() -> list[tuple[str, str]]:
    return [("", str(_l("Any state")))] + [(s.value, str(ITEM_STATE_LABELS[s])) for s in ItemState]


class ItemForm(CleanTextForm):
    division_id = SelectField(_l("Division"), coerce=int, validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX_LENGTH)])
    body = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=ITEM_BODY_MAX_LENGTH)],
        description=_l("What should change, and why? Markdown is allowed."),
    )


#: A comment's length is checked by the service (agendas.services._clean_body), so a form and
#: a socket refuse an overlong comment with the same limit and message; the browser is told.
COMMENT_BODY_ATTRIBUTES = {"maxlength": COMMENT_MAX_LENGTH}


class CommentForm(CleanTextForm):
    """A new comment or reply; the client id makes a resubmitted form post only once."""

    body = TextAreaField(
        _l("Your comment"),
        validators=[DataRequired()],
        description=_l("At most 10,000 characters. Markdown is allowed."),
        render_kw=COMMENT_BODY_ATTRIBUTES,
    )
    parent_id = HiddenField()
    client_id = HiddenField()


class EditCommentForm(CleanTextForm):
    body = TextAreaField(
        _l("Your comment"), validators=[DataRequired()], render_kw=COMMENT_BODY_ATTRIBUTES
    )


class ReasonForm(CleanTextForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX_LENGTH)])


class ReactionForm(CleanTextForm):
    value = HiddenField()
