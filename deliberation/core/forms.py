"""The base of every form (its text fields cleaned), and views that write through a form."""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from deliberation.core.errors import DomainError
from deliberation.core.sanitize import UntypableText, clean_text
from deliberation.extensions import db

T = TypeVar("T")


def clean_field_text(value: Any) -> Any:
    """A WTForms filter around `clean_text`: its refusal becomes the field's error."""
    if not isinstance(value, str):
        return value  # None (field not sent) and non-text data stay as they are
    try:
        return clean_text(value)
    except UntypableText as error:
        # A ValueError from a filter is kept as a processing error, shown by validate().
        raise ValueError(error.message) from None


class CleanTextForm(FlaskForm):
    """Every form of the site derives from this: each text field goes through `clean_text`.

    Text fields are StringField and its kinds (TextAreaField, EmailField, HiddenField, ...).
    Passwords are left as typed: they are only hashed, never stored or shown, and refusing a
    character now would lock out whoever chose one before.
    """

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                filters = unbound_field.kwargs.get("filters") or ()
                options = {**options, "filters": [clean_field_text, *filters]}
            return super().bind_field(form, unbound_field, options)

        def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
            # The CSRF token is a hidden input with no label: it needs no id, and with one
            # every page that holds several forms (the header has three) repeats the same id.
            if field.type == "CSRFTokenField":
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)


def commit_or_flash(write: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """Run `write` (a service call) and commit; a DomainError rolls back and is flashed as an
    error. Returns the service's result, or the refusal for the caller's page and status."""
    try:
        result = write()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return None, error
    return result, None


def commit_or_show_on(field: Any, write: Callable[[], T]) -> tuple[T | None, int]:
    """Run `write` (a service call) and commit; a DomainError rolls back and is shown on
    `field` (a WTForms field). Returns the service's result and the page's status code."""
    try:
        result = write()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        field.errors = [*field.errors, error.message]
        return None, error.status_code
    return result, 200
