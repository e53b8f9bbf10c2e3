"""The background sender: takes due messages from the outbox and hands them to SMTP (or, with
no MAIL_SERVER, to the log), retrying with exponential backoff. Runs as a periodic job, never
inside a request, so a slow or absent mail server never slows a page down."""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import and_, or_, select, update

from deliberation.core.scheduler import periodic
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.mail.background import in_background
from deliberation.mail.models import MailStatus, OutboxMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 100
#: How long a claimed message stays claimed; a sender that died lets it go after this.
CLAIM_LEASE = timedelta(minutes=5)
#: The longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    logged: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int, base_s: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base, ... capped."""
    return min(timedelta(seconds=base_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def claim_due(now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due messages as being sent by this process and commit the claim.

    A claim is a conditional UPDATE, so two senders never take the same message; a claim whose
    lease ran out (its sender died) is due again.
    """
    due = or_(
        OutboxMessage.status == MailStatus.QUEUED,
        OutboxMessage.status == MailStatus.SENDING,
    )
    candidates = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
        .where(due, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id, status, attempts in candidates:
        result = db.session.execute(
            update(OutboxMessage)
            .where(
                and_(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == status,
                    OutboxMessage.attempts == attempts,
                )
            )
            .values(
                status=MailStatus.SENDING,
                attempts=attempts + 1,
                next_attempt_at=now + CLAIM_LEASE,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return claimed


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, language and unsubscribe headers."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(as_utc(message.created_at))
    email["Message-ID"] = make_msgid(idstring=f"outbox{message.id}")
    for name, value in (message.headers or {}).items():
        email[name] = value
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    # After the body: setting the content clears every Content-* header.
    email["Content-Language"] = message.language
    return email


def _open_smtp(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT_S"]
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
    if config["MAIL_USERNAME"]:
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    return smtp


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused sender) will not change by retrying."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _record_failure(
    message: OutboxMessage, error: Exception, now: datetime, report: DeliveryReport
) -> None:
    config = current_app.config
    message.last_error = f"{type(error).__name__}: {error}"[:1000]
    if _is_permanent(error) or message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        message.status = MailStatus.FAILED
        report.failed += 1
        log.error(
            "mail %s to %s failed for good after %d attempts: %s",
            message.id,
            message.to_address,
            message.attempts,
            message.last_error,
        )
        return
    message.status = MailStatus.QUEUED
    message.next_attempt_at = now + backoff(message.attempts, config["MAIL_RETRY_BASE_S"])
    report.retrying += 1
    log.warning(
        "mail %s to %s: attempt %d failed (%s); next attempt at %s",
        message.id,
        message.to_address,
        message.attempts,
        message.last_error,
        message.next_attempt_at.isoformat(),
    )


def deliver_due_mail(now: datetime | None = None, limit: int = BATCH_SIZE) -> DeliveryReport:
    """Send every message that is due, one SMTP connection per batch; commits as it goes."""
    now = now or utcnow()
    report = DeliveryReport()
    claimed = claim_due(now, limit)
    report.claimed = len(claimed)
    if not claimed:
        return report
    config = current_app.config
    messages = list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )
    if not config.get("MAIL_SERVER"):
        for message in messages:
            log.info(
                "mail (no MAIL_SERVER, not sent) to %s: %s\n%s",
                message.to_address,
                message.subject,
                message.body_text,
            )
            message.status, message.sent_at = MailStatus.LOGGED, now
            report.logged += 1
        db.session.commit()
        return report
    try:
        smtp = _open_smtp(config)
    except (OSError, smtplib.SMTPException) as error:
        for message in messages:
            _record_failure(message, error, now, report)
        db.session.commit()
        return report
    try:
        for message in messages:
            try:
                smtp.send_message(build_email(message, config["MAIL_DEFAULT_SENDER"]))
            except (OSError, smtplib.SMTPException) as error:
                _record_failure(message, error, now, report)
            else:
                message.status, message.sent_at, message.last_error = MailStatus.SENT, now, ""
                report.sent += 1
            # Each outcome is kept at once: a crash later in the batch resends nothing sent.
            db.session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return report


def deliver_all_due(now: datetime | None = None) -> DeliveryReport:
    """Send batch after batch while full ones come back: a burst goes out in one round, not a
    hundred messages every two seconds."""
    report = DeliveryReport()
    while True:
        batch = deliver_due_mail(now)
        for name in ("claimed", "sent", "logged", "retrying", "failed"):
            setattr(report, name, getattr(report, name) + getattr(batch, name))
        if batch.claimed < BATCH_SIZE:
            return report


def _delivery_round() -> None:
    report = deliver_all_due()
    if report.sent or report.failed or report.retrying:
        log.info(
            "outbox: %d sent, %d retrying, %d failed", report.sent, report.retrying, report.failed
        )


@periodic("mail.deliver_outbox", every_s=2.0)
def deliver_outbox() -> None:
    """Hand due mail to the mail server (or the log) every couple of seconds."""
    in_background("mail.deliver_outbox", _delivery_round)
