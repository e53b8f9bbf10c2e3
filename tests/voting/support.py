"""Helpers for voting and proposals tests: items, ballots and crowds on the real database."""

from datetime import timedelta

from sqlalchemy import insert

from deliberation.accounts.models import MemberCategory, Role, User, division_memberships
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.voting import services
from deliberation.voting.models import Ballot
from tests.factories import make_division, make_user


def make_item(division=None, author=None, state=ItemState.DISCUSSION, title="Longer library hours"):
    division = division or make_division()
    author = author or make_user()
    item = AgendaItem(
        division=division,
        author=author,
        title=title,
        body="Open the library until 22:00.",
        state=state,
    )
    db.session.add(item)
    db.session.commit()
    return item


def make_ballot(item=None, facilitator=None, *, minutes=60, commit=True, **options):
    item = item or make_item()
    facilitator = facilitator or make_user(Role.FACILITATOR)
    now = utcnow()
    ballot = services.open_ballot(
        facilitator,
        item,
        opens_at=options.pop("opens_at", now - timedelta(seconds=1)),
        closes_at=options.pop("closes_at", now + timedelta(minutes=minutes)),
        **options,
    )
    if commit:
        db.session.commit()
    return ballot


def make_crowd(count: int, *, category=MemberCategory.CITIZEN, division=None) -> list[int]:
    """Insert `count` active members quickly (no password hashing); return their ids."""
    start = db.session.query(User).count()
    rows = [
        {
            "email": f"crowd{start + n}-{id(rows_marker)}@example.org",
            "display_name": f"Voter {start + n}",
            "password_hash": "!",
            "preferred_language": "en",
            "member_category": category,
            "is_active_account": True,
            "session_token": f"token-{start + n}-{id(rows_marker)}",
            "large_text": False,
            "created_at": utcnow(),
        }
        for n in range(count)
    ]
    ids = list(db.session.scalars(insert(User).returning(User.id), rows))
    if division is not None:
        db.session.execute(
            insert(division_memberships), [{"user_id": i, "division_id": division.id} for i in ids]
        )
    db.session.commit()
    return ids


rows_marker = object()


def make_due(ballot_id: int) -> None:
    """Move a ballot's closing time a second into the past (nothing has closed it yet)."""
    db.session.execute(
        db.update(Ballot)
        .where(Ballot.id == ballot_id)
        .values(closes_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def close_now(ballot_id: int) -> None:
    """Close a ballot as the scheduler does once its time is up (tallied, its proposal queued)."""
    make_due(ballot_id)
    services.close_due_ballots()
    db.session.commit()
