"""Outgoing mail for callers without a kind of their own: queued in the outbox (`deliberation.mail`)
in the caller's transaction, sent by the background sender after the commit."""

from deliberation.mail.models import MailKind, OutboxMessage
from deliberation.mail.services import queue_mail


def send_mail(to: str, subject: str, body: str) -> OutboxMessage | None:
    """Queue a plain message to an address; the caller's commit releases it to the sender."""
    return queue_mail(MailKind.GENERAL, to=to, subject=subject, context={"body": body})
