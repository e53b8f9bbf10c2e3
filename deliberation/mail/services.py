"""Every write about mail: queueing a message in the outbox, unsubscribing, confirming an address.

Messages are written into the outbox in the caller's transaction (the service flushes, the edge
commits); the background sender in `delivery.py` sends them after the commit.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from deliberation.accounts import services as accounts
from deliberation.accounts.models import User
from deliberation.core import audit
from deliberation.core.errors import DomainError
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.mail import times
from deliberation.mail.models import (
    ConfirmedAddress,
    MailKind,
    MailOptOut,
    MailStatus,
    OutboxMessage,
)

CONFIRM_TOKEN_MAX_AGE_S = 7 * 24 * 3600
#: Where links in mail queued outside a request point when SITE_URL is not set.
FALLBACK_SITE_URL = "http://127.0.0.1:5000"


@contextmanager
def _links_for(language: str) -> Iterator[None]:
    """Build absolute links (SITE_URL, else the request's own address) and text in `language`."""
    site_url = current_app.config.get("SITE_URL")
    if has_request_context() and not site_url:
        with force_locale(language):
            yield
        return
    with current_app.test_request_context(base_url=site_url or FALLBACK_SITE_URL):
        with force_locale(language):
            yield


def _language_of(user: User | None) -> str:
    languages = current_app.config["LANGUAGES"]
    if user is not None and user.preferred_language in languages:
        return user.preferred_language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def has_opted_out(user_id: int, kind: MailKind) -> bool:
    return (
        db.session.scalar(
            select(MailOptOut.id).where(MailOptOut.user_id == user_id, MailOptOut.kind == kind)
        )
        is not None
    )


def outbox_has(dedupe_key: str) -> bool:
    """Whether a message with this dedupe key was queued already."""
    return (
        db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        is not None
    )


def queue_mail(
    kind: MailKind,
    *,
    user: User | None = None,
    to: str | None = None,
    subject: str | None = None,
    context: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Write one message, in the recipient's language, into the outbox of this transaction.

    Renders `templates/mail/<kind>.txt` and `.html` with `context`; the subject is the kind's
    own (`_subject_for`) unless given. Returns None when the person unsubscribed from this kind,
    when notification mail would go to an address its owner has not confirmed, or when a
    message with the same `dedupe_key` exists already.
    """
    if user is not None and kind.can_unsubscribe and has_opted_out(user.id, kind):
        return None
    if user is not None and kind.needs_confirmed_address and not is_address_confirmed(user):
        return None
    language = _language_of(user)
    address = to or (user.email if user is not None else None)
    if not address:
        raise ValueError("a message needs an address")
    values = dict(context or {})
    with _links_for(language):
        headers: dict[str, str] = {}
        if user is not None and kind.can_unsubscribe:
            unsubscribe = url_for(
                "mail.unsubscribe", token=unsubscribe_token(user.id, kind), _external=True
            )
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to that link.
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            values["unsubscribe_url"] = unsubscribe
        values.update(user=user, kind=kind, language=language, zone=times.zone_of(user))
        subject_text = subject if subject is not None else _subject_for(kind, values)
        values["subject"] = subject_text
        body_text = render_template(f"mail/{kind.value}.txt", **values)
        body_html = render_template(f"mail/{kind.value}.html", **values)
    message = OutboxMessage(
        kind=kind,
        user_id=user.id if user is not None else None,
        to_address=address,
        language=language,
        subject=subject_text[:300],
        body_text=body_text,
        body_html=body_html,
        headers=headers,
        status=MailStatus.QUEUED,
        next_attempt_at=utcnow(),
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        db.session.add(message)
        db.session.flush()
        return message
    try:
        with db.session.begin_nested():  # the UNIQUE key decides, not a check-then-insert
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        return None
    return message


def _subject_for(kind: MailKind, values: dict[str, Any]) -> str:
    """The subject line of each kind of mail, in the locale in force."""
    proposal = values.get("proposal")
    title = proposal.title if proposal is not None else ""
    session = values.get("session")
    session_title = session.title if session is not None else ""
    subjects = {
        MailKind.PASSWORD_RESET: lambda: _("Reset your Madang password"),
        MailKind.CONFIRM_ADDRESS: lambda: _("Confirm your email address for Madang"),
        MailKind.PROPOSAL_ASSIGNED: lambda: _("New proposal in your queue: %(title)s", title=title),
        MailKind.PROPOSAL_DUE_SOON: lambda: _(
            "Answer due in 3 days or less: %(title)s", title=title
        ),
        MailKind.PROPOSAL_OVERDUE: lambda: _("Answer overdue: %(title)s", title=title),
        MailKind.SESSION_REMINDER: lambda: (
            _("Tomorrow: %(title)s", title=session_title)
            if values.get("which") == "day"
            else _("In an hour: %(title)s", title=session_title)
        ),
        MailKind.PROPOSAL_STEP: lambda: _(
            "%(step)s: %(title)s", step=values["step"].kind.label, title=title
        ),
        MailKind.PROPOSAL_DIGEST: lambda: ngettext(
            "Proposals you follow: %(num)d new step",
            "Proposals you follow: %(num)d new steps",
            len(values["notifications"]),
        ),
        MailKind.SURVEY_INVITATION: lambda: _(
            "How did it go? %(title)s", title=values["survey"].title
        ),
        MailKind.GENERAL: lambda: _("A message from Madang"),
    }
    return subjects[kind]()


# Password reset ------------------------------------------------------------------------------


def queue_password_reset(email: str) -> OutboxMessage | None:
    """Mail a reset link to the account with this address, if there is an active one.

    The caller answers the same either way, so nobody learns whether an address has an account.
    """
    user = accounts.find_user_by_email(email)
    if user is None or not user.is_active_account:
        return None
    token = accounts.make_reset_token(user, current_app.config["SECRET_KEY"])
    with _links_for(_language_of(user)):
        link = url_for("accounts.reset_password", token=token, _external=True)
    return queue_mail(
        MailKind.PASSWORD_RESET,
        user=user,
        context={"link": link, "valid_minutes": accounts.RESET_TOKEN_MAX_AGE_S // 60},
    )


# Address confirmation ------------------------------------------------------------------------


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="confirm-address")


def queue_address_confirmation(user: User) -> OutboxMessage | None:
    """Mail a link that proves the person reads this address."""
    token = _confirm_serializer().dumps([user.id, user.email])
    with _links_for(_language_of(user)):
        link = url_for("mail.confirm_address", token=token, _external=True)
    return queue_mail(MailKind.CONFIRM_ADDRESS, user=user, context={"link": link})


def confirm_address(token: str) -> User:
    """Record that the person holding this link reads the address it was sent to."""
    invalid = DomainError(_("That confirmation link is invalid or has expired."), code="bad_token")
    try:
        user_id, email = _confirm_serializer().loads(token, max_age=CONFIRM_TOKEN_MAX_AGE_S)
    except (BadSignature, SignatureExpired, ValueError, TypeError) as error:
        raise invalid from error
    user = db.session.get(User, user_id)
    if user is None or user.email != email:
        raise invalid
    row = db.session.get(ConfirmedAddress, user.id)
    if row is None:
        db.session.add(ConfirmedAddress(user_id=user.id, email=email, confirmed_at=utcnow()))
    elif row.email != email:
        row.email, row.confirmed_at = email, utcnow()
    db.session.flush()
    audit.record("mail.confirm_address", "user", user.id, actor_id=user.id)
    return user


def is_address_confirmed(user: User) -> bool:
    row = db.session.get(ConfirmedAddress, user.id)
    return row is not None and row.email == user.email


# Unsubscribe ---------------------------------------------------------------------------------


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="mail-unsubscribe")


def unsubscribe_token(user_id: int, kind: MailKind) -> str:
    """A link token that lets its holder stop one kind of mail to one person, without login."""
    return _unsubscribe_serializer().dumps([user_id, kind.value])


def read_unsubscribe_token(token: str) -> tuple[User, MailKind]:
    """The person and kind of mail a link is about; refuses a forged or stale link."""
    invalid = DomainError(_("That unsubscribe link is invalid."), code="bad_token")
    try:
        user_id, kind_value = _unsubscribe_serializer().loads(token)
        kind = MailKind(kind_value)
    except (BadSignature, ValueError, TypeError) as error:
        raise invalid from error
    user = db.session.get(User, user_id)
    if user is None or not kind.can_unsubscribe:
        raise invalid
    return user, kind


def unsubscribe(user: User, kind: MailKind) -> None:
    """Stop one kind of mail to this person; doing it twice changes nothing."""
    if not kind.can_unsubscribe:
        raise DomainError(_("This kind of mail cannot be turned off."), code="transactional")
    values = {"user_id": user.id, "kind": kind.value, "created_at": utcnow()}
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(MailOptOut).values(**values).on_conflict_do_nothing())
    audit.record("mail.unsubscribe", "user", user.id, actor_id=user.id, kind=kind.value)


def resubscribe(user: User, kind: MailKind) -> None:
    """Receive this kind of mail again."""
    db.session.execute(
        MailOptOut.__table__.delete().where(MailOptOut.user_id == user.id, MailOptOut.kind == kind)
    )
    audit.record("mail.resubscribe", "user", user.id, actor_id=user.id, kind=kind.value)


# The outbox, for admins ----------------------------------------------------------------------


def requeue(actor: User, message: OutboxMessage, now: datetime | None = None) -> None:
    """An admin sends a failed message again: a fresh round of attempts."""
    if message.status != MailStatus.FAILED:
        raise DomainError(_("Only a failed message can be sent again."), code="not_failed")
    message.status = MailStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    audit.record("mail.requeue", "outbox_message", message.id, actor_id=actor.id)
