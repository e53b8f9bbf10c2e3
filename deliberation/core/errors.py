"""Domain errors raised by services, and how HTTP turns them into pages."""

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from deliberation.extensions import db


class DomainError(Exception):
    """A rule of the domain was broken: the user gets the message, nothing changes."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or str(_l("That is not allowed.")))
        self.message = str(message or _l("That is not allowed."))
        if code:
            self.code = code


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class IllegalTransition(DomainError):
    status_code = 409
    code = "illegal_transition"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


class DatabaseUnavailable(DomainError):
    """The database could not be reached (PostgreSQL restarting, a failover): nothing was
    written, and the same request sent again in a moment will be."""

    status_code = 503
    code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__(
            _(
                "The server could not reach its database, so this was not saved. "
                "It will be sent again in a moment."
            )
        )


def is_database_outage(error: BaseException) -> bool:
    """The database went away (connection refused, dropped, or the server shutting down or
    starting up), as opposed to a bug or bad data: the one test, for sockets and the batch
    vote writer alike."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


#: What an HTTP error means for the person who met it, in their language: our own words,
#: never Werkzeug's English description (which `abort(404)` and friends carry).
HTTP_ERROR_EXPLANATIONS = {
    400: _l("The request could not be understood. Please go back, reload the page and try again."),
    401: _l("Please log in to see this page."),
    403: _l("Your account does not give you access to this page or action."),
    404: _l(
        "There is no page at this address. It may have been moved or removed; "
        "if you typed the address, please check it."
    ),
    405: _l("This page cannot be used that way. Please use the links and buttons on the page."),
    409: _l("This changed while you were looking at it. Please reload the page and try again."),
    413: _l("What you sent is too large."),
    429: _l("Too many tries in a short time. Please wait a moment and try again."),
    503: _l("The site is briefly unavailable. Please try again in a moment."),
}
CLIENT_ERROR_EXPLANATION = _l("This request cannot be completed. Please go back and try again.")
SERVER_ERROR_EXPLANATION = _l("Something went wrong on our side. Please try again in a moment.")


def http_error_explanation(status: int) -> str:
    """Our own explanation of an HTTP error status, in the viewer's language."""
    if status in HTTP_ERROR_EXPLANATIONS:
        return str(HTTP_ERROR_EXPLANATIONS[status])
    return str(CLIENT_ERROR_EXPLANATION if status < 500 else SERVER_ERROR_EXPLANATION)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.is_json or best == "application/json"


def register_error_handlers(app: Flask) -> None:
    """Render domain and HTTP errors as friendly pages (or JSON for API callers)."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if _wants_json():
            return jsonify(error=error.code, message=error.message), error.status_code
        return (
            render_template("error.html", status=error.status_code, message=error.message),
            error.status_code,
        )

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error: Exception):
        """A number too large for the database (e.g. ?page=10**30) is bad input, not a crash."""
        db.session.rollback()
        message = _("A number in the request is out of range.")
        if _wants_json():
            return jsonify(error="out_of_range", message=message), 400
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _(
            "The form expired or was not sent from this site. "
            "Please go back, reload the page and try again."
        )
        if _wants_json():
            return jsonify(error="csrf", message=message), 400
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = http_error_explanation(status)
        if _wants_json():
            return jsonify(error=error.name, message=message), status
        return render_template("error.html", status=status, message=message), status
