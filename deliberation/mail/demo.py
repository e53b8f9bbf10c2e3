"""Demo data for mail: every demo account's address counts as confirmed, so the Outbox page
shows the officials', followers' and survey mail the demo produces (notification mail goes
only to confirmed addresses; the demo's addresses are fictitious and mail there is only logged).
"""

from deliberation.db import utcnow
from deliberation.demo_context import DemoContext
from deliberation.extensions import db
from deliberation.mail.models import ConfirmedAddress


def seed_demo(context: DemoContext) -> None:
    """Mark the demo accounts' addresses confirmed."""
    now = utcnow()
    for user in [*context.users.values(), *context.crowd]:
        db.session.add(ConfirmedAddress(user_id=user.id, email=user.email, confirmed_at=now))
