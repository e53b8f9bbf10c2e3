"""Outgoing mail. Until SMTP is configured, messages go to the log and an in-process outbox."""

import logging
from dataclasses import dataclass

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a message; tests read `app.extensions['outbox']`."""
    message = OutgoingMail(to=to, subject=subject, body=body)
    current_app.extensions.setdefault("outbox", []).append(message)
    log.info("mail to %s: %s", to, subject)
