"""Views that write through a form: one transaction, and a refusal shown on the form."""

from collections.abc import Callable
from typing import Any, TypeVar

from deliberation.core.errors import DomainError
from deliberation.extensions import db

T = TypeVar("T")


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
