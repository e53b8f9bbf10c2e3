"""Reads about mail shared by the pages: the outbox, paginated, and its counts by status."""

from sqlalchemy import func, select

from deliberation.core.errors import NotFound
from deliberation.extensions import db
from deliberation.mail.models import MailKind, MailOptOut, MailStatus, OutboxMessage


def outbox_page(status: MailStatus | None = None, page: int = 1, per_page: int = 50):
    """The outbox, newest first, optionally only messages in one status."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def outbox_counts() -> dict[MailStatus, int]:
    """How many messages are in each status (every status listed, zeros included)."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = dict.fromkeys(MailStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts


def get_message(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    return message


def opted_out_kinds(user_id: int) -> set[MailKind]:
    return set(db.session.scalars(select(MailOptOut.kind).where(MailOptOut.user_id == user_id)))
