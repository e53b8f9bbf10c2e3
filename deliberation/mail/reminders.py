"""Reminders found by looking at the data, not by hooks in other features: officials hear of a
proposal reaching their queue, of an answer due in 3 days and (daily) of an overdue one;
roundtable registrants get the link and time a day and an hour before. Each reminder has a
dedupe key, so running the scan again (or in two processes) never mails anyone twice."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from deliberation.accounts.models import Role, User, UserRole, division_memberships
from deliberation.core.scheduler import periodic
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.mail import services
from deliberation.mail.background import in_background
from deliberation.mail.models import MailKind, OutboxMessage
from deliberation.mail.times import zone_of
from deliberation.proposals.models import AWAITING_RESPONSE, Proposal
from deliberation.roundtables.models import Participant, RoundtableSession, SessionState

#: A proposal created longer ago than this is not announced as new any more.
ASSIGNED_WINDOW = timedelta(days=2)
DUE_SOON = timedelta(days=3)
SESSION_REMINDERS = (("day", timedelta(days=1)), ("hour", timedelta(hours=1)))


def _existing_keys(keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are in the outbox already (one query per 500 keys)."""
    keys = list(keys)
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            db.session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
        )
    return found


def officials_for(division_id: int | None) -> list[User]:
    """Who answers a proposal: the active officials of its division, else every official."""
    officials = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.OFFICIAL, User.is_active_account.is_(True))
        .order_by(User.id)
    )
    if division_id is not None:
        in_division = list(
            db.session.scalars(
                officials.join(
                    division_memberships, division_memberships.c.user_id == User.id
                ).where(division_memberships.c.division_id == division_id)
            )
        )
        if in_division:
            return in_division
    return list(db.session.scalars(officials))


def _queue_once(wanted: list[tuple[str, MailKind, User, dict]]) -> int:
    """Queue each (dedupe key, kind, recipient, context) whose key is new; returns how many."""
    existing = _existing_keys(key for key, *_rest in wanted)
    queued = 0
    for key, kind, user, context in wanted:
        if key in existing:
            continue
        if services.queue_mail(kind, user=user, context=context, dedupe_key=key) is not None:
            queued += 1
    return queued


def queue_official_reminders(now: datetime | None = None) -> int:
    """Tell officials about new, soon-due and overdue proposals awaiting their answer."""
    now = now or utcnow()
    awaiting = list(
        db.session.scalars(
            select(Proposal).where(Proposal.state.in_(AWAITING_RESPONSE)).order_by(Proposal.id)
        )
    )
    wanted: list[tuple[str, MailKind, User, dict]] = []
    # Overdue: one reminder a day of the site's calendar (Asia/Seoul unless set), so that
    # officials are not told twice in one working day as UTC's midnight passes (09:00 KST).
    today = as_utc(now).astimezone(zone_of()).date().isoformat()
    officials: dict[int | None, list[User]] = {}
    for proposal in awaiting:
        due_at = as_utc(proposal.due_at)
        if now - as_utc(proposal.created_at) <= ASSIGNED_WINDOW:
            kind, key = MailKind.PROPOSAL_ASSIGNED, f"assigned:{proposal.id}"
        elif due_at < now:
            kind, key = MailKind.PROPOSAL_OVERDUE, f"overdue:{proposal.id}:{today}"
        elif due_at - now <= DUE_SOON:
            kind, key = MailKind.PROPOSAL_DUE_SOON, f"due-soon:{proposal.id}"
        else:
            continue
        if proposal.division_id not in officials:
            officials[proposal.division_id] = officials_for(proposal.division_id)
        context = {"proposal": proposal, "due_at": due_at}
        wanted.extend(
            (f"{key}:{user.id}", kind, user, context) for user in officials[proposal.division_id]
        )
    return _queue_once(wanted)


def queue_session_reminders(now: datetime | None = None) -> int:
    """Send registrants the link and time of a roundtable a day and an hour before it starts."""
    now = now or utcnow()
    sessions = list(
        db.session.scalars(
            select(RoundtableSession).where(
                RoundtableSession.state.in_((SessionState.SCHEDULED, SessionState.LOBBY)),
                RoundtableSession.starts_at > now,
                RoundtableSession.starts_at <= now + SESSION_REMINDERS[0][1],
            )
        )
    )
    wanted: list[tuple[str, MailKind, User, dict]] = []
    for session in sessions:
        starts_at = as_utc(session.starts_at)
        # The closest reminder only: who registers 30 minutes before gets the hour one.
        which = next(
            name for name, before in reversed(SESSION_REMINDERS) if starts_at - now <= before
        )
        registrants = db.session.scalars(
            select(User)
            .join(Participant, Participant.user_id == User.id)
            .where(Participant.session_id == session.id, User.is_active_account.is_(True))
            .order_by(User.id)
        )
        context = {"session": session, "starts_at": starts_at, "which": which}
        wanted.extend(
            (f"session-{which}:{session.id}:{user.id}", MailKind.SESSION_REMINDER, user, context)
            for user in registrants
        )
    return _queue_once(wanted)


@periodic("mail.official_reminders", every_s=300.0)
def official_reminders() -> None:
    """Every five minutes: new proposals at once, due-soon once, overdue once a day."""
    in_background("mail.official_reminders", queue_official_reminders)


@periodic("mail.session_reminders", every_s=60.0)
def session_reminders() -> None:
    """Every minute: roundtable reminders a day and an hour before the start."""
    in_background("mail.session_reminders", queue_session_reminders)
