"""Mail to followers about steps on the proposals they follow: at once, as a daily digest, or
never, as each person chooses; and the evaluation survey to participants after a close. Reads
the in-app notifications (one row per follower per step, or per participant per survey,
written with the step or the close), so the features need no hook and a step with 100,000
followers never makes its request wait for 100,000 mails."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.core.scheduler import periodic
from deliberation.db import utcnow
from deliberation.evaluations.services import target_of
from deliberation.extensions import db
from deliberation.mail import services, times
from deliberation.mail.background import in_background
from deliberation.mail.models import FollowerMail, MailCursor, MailKind, MailPreference
from deliberation.proposals.models import Notification
from deliberation.roundtables.models import RoundtableSession

STEP_CURSOR = "proposal_steps"
BATCH_SIZE = 2000
#: Notifications younger than this wait for the next scan: a transaction that took a lower id
#: may commit after one with a higher id, and the cursor must not pass it by.
COMMIT_LAG = timedelta(seconds=5)


def follower_mail_of(user_id: int) -> FollowerMail:
    preference = db.session.get(MailPreference, user_id)
    return preference.follower_mail if preference is not None else FollowerMail.IMMEDIATE


def set_follower_mail(user: User, choice: FollowerMail) -> None:
    """Choose how to hear of steps on followed proposals."""
    preference = db.session.get(MailPreference, user.id)
    if preference is None:
        db.session.add(MailPreference(user_id=user.id, follower_mail=choice))
    else:
        preference.follower_mail = choice
    db.session.flush()


def _cursor() -> MailCursor:
    cursor = db.session.get(MailCursor, STEP_CURSOR)
    if cursor is None:
        # First run on an existing site: mail about steps from now on, not the whole history.
        latest = db.session.scalar(select(func.max(Notification.id))) or 0
        cursor = MailCursor(name=STEP_CURSOR, position=latest)
        db.session.add(cursor)
        db.session.flush()
    return cursor


def queue_step_mail(now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Mail followers who want each step at once, and participants the survey offered at a
    close; returns how many mails were queued."""
    now = now or utcnow()
    cursor = _cursor()
    rows = db.session.execute(
        select(Notification, User, MailPreference.follower_mail)
        .join(User, User.id == Notification.user_id)
        .outerjoin(MailPreference, MailPreference.user_id == Notification.user_id)
        .where(Notification.id > cursor.position, Notification.created_at <= now - COMMIT_LAG)
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    queued = 0
    for notification, user, choice in rows:
        cursor.position = notification.id
        if notification.survey_id is not None:
            queued += _queue_survey_invitation(notification, user)
            continue
        if (choice or FollowerMail.IMMEDIATE) != FollowerMail.IMMEDIATE:
            continue
        if not user.is_active_account:
            continue
        message = services.queue_mail(
            MailKind.PROPOSAL_STEP,
            user=user,
            context={"proposal": notification.proposal, "step": notification.event},
            dedupe_key=f"step:{notification.event_id}:{user.id}",
        )
        queued += message is not None
    db.session.flush()
    return queued


def _queue_survey_invitation(notification: Notification, user: User) -> bool:
    """One mail with the survey's link to a participant, once (survey invitations are not
    part of the followers' at once / digest / never choice: they have their own kind)."""
    if not user.is_active_account:
        return False
    target = target_of(notification.survey)
    message = services.queue_mail(
        MailKind.SURVEY_INVITATION,
        user=user,
        context={
            "survey": notification.survey,
            "is_session": isinstance(target, RoundtableSession),
            "target_title": target.title
            if isinstance(target, RoundtableSession)
            else target.item.title,
        },
        dedupe_key=f"survey:{notification.survey_id}:{user.id}",
    )
    return message is not None


def queue_daily_digests(now: datetime | None = None) -> int:
    """After each midnight in the site's time zone (Asia/Seoul unless DEFAULT_TIMEZONE says
    otherwise), one digest of the day before to each person who chose it."""
    now = now or utcnow()
    day, day_start, day_end = times.previous_day(now, times.zone_of())
    in_day = (
        Notification.created_at >= day_start,
        Notification.created_at < day_end,
        Notification.event_id.is_not(None),  # steps only: surveys are mailed at once
    )
    user_ids = list(
        db.session.scalars(
            select(Notification.user_id)
            .join(MailPreference, MailPreference.user_id == Notification.user_id)
            .where(MailPreference.follower_mail == FollowerMail.DAILY, *in_day)
            .distinct()
            .order_by(Notification.user_id)
        )
    )
    queued = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is None or not user.is_active_account:
            continue
        key = f"digest:{user_id}:{day.isoformat()}"
        if services.outbox_has(key):
            continue
        notifications = list(
            db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user_id, *in_day)
                .order_by(Notification.id)
            )
        )
        message = services.queue_mail(
            MailKind.PROPOSAL_DIGEST,
            user=user,
            context={"notifications": notifications, "day": day},
            dedupe_key=key,
        )
        queued += message is not None
    return queued


@periodic("mail.follower_steps", every_s=30.0)
def follower_steps() -> None:
    """Every half minute: mail the new steps to followers who want them at once."""
    in_background("mail.follower_steps", queue_step_mail)


@periodic("mail.follower_digests", every_s=900.0)
def follower_digests() -> None:
    """Every quarter hour: yesterday's digest (the site's day) to those who chose one, once."""
    in_background("mail.follower_digests", queue_daily_digests)
