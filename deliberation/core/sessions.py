"""The cookie session, opened once per socket rather than once per Socket.IO event, and the
login it carries."""

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface, SessionMixin


class SocketAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except on a socket that already holds its session.

    Flask-SocketIO pushes a request context for every event (re-verifying and decoding the
    handshake's cookie each time: about a fifth of the server's work in a 1,000-person poll)
    and then swaps in the socket's own copy of the session, kept in the connection's WSGI
    environ. The cookie of a connection never changes, so that copy is returned at once.
    """

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        saved = request.environ.get("saved_session")
        if saved is not None:
            return saved
        return super().open_session(app, request)


def login_identity(cookie_id: object) -> tuple[int, str] | None:
    """The user id and session token in a Flask-Login cookie id ("<id>:<token>", what
    `User.get_id` writes), or None when it is missing or malformed. The only parser of it:
    page logins (the user loader) and socket votes (checked in their batch) both use it."""
    user_id, _sep, token = str(cookie_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token:
        return None
    return int(user_id), token
