"""The form for a person's own mail settings."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from deliberation.core.forms import CleanTextForm
from deliberation.mail.models import FOLLOWER_MAIL_LABELS, MAIL_KIND_LABELS, MailKind


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def optional_kinds() -> list[MailKind]:
    """The kinds of mail a person may turn off (not resets or confirmations)."""
    return [kind for kind in MailKind if kind.can_unsubscribe]


class MailPreferencesForm(CleanTextForm):
    follower_mail = RadioField(
        _l("Steps on the proposals I follow"),
        # Built per request: labels in the reader's language, not the one at import.
        choices=lambda: [
            SelectChoice(c.value, str(label)) for c, label in FOLLOWER_MAIL_LABELS.items()
        ],
    )
    stopped = CheckboxListField(
        _l("Mail I do not want"),
        choices=lambda: [SelectChoice(k.value, str(MAIL_KIND_LABELS[k])) for k in optional_kinds()],
    )
