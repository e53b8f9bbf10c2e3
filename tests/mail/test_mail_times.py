"""Times in mail are in the recipient's time zone (the site's DEFAULT_TIMEZONE, Asia/Seoul
unless set), with the zone named, in Korean and English; the daily digest covers the day as
people there count it, not the UTC day."""

from datetime import UTC, datetime

from sqlalchemy import update

from deliberation.accounts.models import Role
from deliberation.extensions import db
from deliberation.mail.delivery import deliver_due_mail
from deliberation.mail.followers import queue_daily_digests
from deliberation.mail.models import FollowerMail, MailPreference
from deliberation.mail.reminders import queue_official_reminders
from deliberation.proposals.models import Notification, Proposal
from deliberation.proposals.services import create_proposal
from tests.factories import make_division, make_user
from tests.mail.conftest import html_part, text_part

DUE = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # 11:00 in Seoul, 03:00 in Berlin


def _queue_assigned_mail(division_id: int) -> None:
    proposal = create_proposal(title="Ramps", summary="", snapshot={}, division_id=division_id)
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(due_at=DUE))
    db.session.commit()
    queue_official_reminders()
    db.session.commit()
    deliver_due_mail()


def test_a_due_date_reads_in_seoul_time_with_the_zone_named_in_both_languages(
    mail_app, smtp_server
):
    with mail_app.app_context():
        division = make_division()
        make_user(Role.OFFICIAL, email="en@example.org", divisions=[division])
        make_user(Role.OFFICIAL, email="ko@example.org", divisions=[division], language="ko")
        _queue_assigned_mail(division.id)
    by_address = {m["To"]: m for m in smtp_server.mailbox.messages}
    english, korean = by_address["en@example.org"], by_address["ko@example.org"]
    assert "by 2027-01-04 11:00 (South Korea Time)." in text_part(english)
    assert "2027-01-04 11:00 (South Korea Time)" in html_part(english)
    assert "2027-01-04 11:00 (대한민국 시간)" in text_part(korean)
    assert "UTC" not in text_part(english) + text_part(korean)


def test_the_site_time_zone_is_a_setting(mail_app, smtp_server):
    mail_app.config["DEFAULT_TIMEZONE"] = "Europe/Berlin"
    with mail_app.app_context():
        division = make_division()
        make_user(Role.OFFICIAL, email="en@example.org", divisions=[division])
        _queue_assigned_mail(division.id)
    (message,) = smtp_server.mailbox.messages
    assert "2027-01-04 03:00 (Germany (Berlin) Time)" in text_part(message)


def test_a_person_who_chose_a_zone_reads_mail_in_it(mail_app, smtp_server):
    with mail_app.app_context():
        division = make_division()
        away = make_user(Role.OFFICIAL, email="away@example.org", divisions=[division])
        away.timezone = "America/New_York"
        make_user(Role.OFFICIAL, email="home@example.org", divisions=[division])
        db.session.commit()
        _queue_assigned_mail(division.id)
    by_address = {m["To"]: m for m in smtp_server.mailbox.messages}
    assert "by 2027-01-03 21:00 (" in text_part(by_address["away@example.org"])
    assert "by 2027-01-04 11:00 (South Korea Time)." in text_part(by_address["home@example.org"])


def test_the_digest_covers_the_day_in_seoul_not_the_utc_day(mail_app, smtp_server):
    with mail_app.app_context():
        reader = make_user(email="daily@example.org")
        db.session.add(MailPreference(user_id=reader.id, follower_mail=FollowerMail.DAILY))
        create_proposal(title="Night buses", summary="", snapshot={}, follower_ids={reader.id})
        # The step came on 5 December at 01:30 in Seoul, still 4 December in UTC.
        db.session.execute(
            update(Notification).values(created_at=datetime(2026, 12, 4, 16, 30, tzinfo=UTC))
        )
        db.session.commit()
        # UTC midnight has passed, Seoul's 4 December is over: that day had no step.
        assert queue_daily_digests(now=datetime(2026, 12, 5, 0, 30, tzinfo=UTC)) == 0
        # Midnight in Seoul (15:00 UTC): 5 December's digest carries it, once.
        assert queue_daily_digests(now=datetime(2026, 12, 5, 15, 5, tzinfo=UTC)) == 1
        assert queue_daily_digests(now=datetime(2026, 12, 5, 23, 0, tzinfo=UTC)) == 0
        db.session.commit()
        assert deliver_due_mail().sent == 1
    (message,) = smtp_server.mailbox.messages
    assert "Steps on the proposals you follow, 2026-12-05:" in text_part(message)
    assert "Night buses" in text_part(message)
