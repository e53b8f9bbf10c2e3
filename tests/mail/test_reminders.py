"""Officials' and registrants' reminders, delivered through a real SMTP server: each once (overdue
once a day), in the recipient's language, with a working one-click unsubscribe per kind."""

import re
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.core.scheduler import run_due_jobs_once
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.mail import services as mail
from deliberation.mail.background import wait_until_idle
from deliberation.mail.delivery import deliver_due_mail
from deliberation.mail.models import MailKind, MailOptOut, MailStatus, OutboxMessage
from deliberation.mail.reminders import queue_official_reminders, queue_session_reminders
from deliberation.mail.times import zone_of
from deliberation.proposals.services import create_proposal
from deliberation.roundtables.models import Participant, RoundtableSession
from tests.factories import make_division, make_user
from tests.mail.conftest import html_part, text_part


def _proposal(division_id: int, title="Longer library hours"):
    proposal = create_proposal(
        title=title, summary="Open until ten.", snapshot={}, division_id=division_id
    )
    db.session.commit()
    return proposal


def _subjects(mailbox, to: str) -> list[str]:
    return [m["Subject"] for m in mailbox.messages if m["To"] == to]


def test_officials_of_the_division_hear_of_new_due_soon_and_overdue_proposals(
    mail_app, smtp_server
):
    mail_app.config["SITE_URL"] = "https://madang.example.org"
    with mail_app.app_context():
        home, other = make_division(), make_division()
        make_user(Role.OFFICIAL, email="home@example.org", divisions=[home])
        make_user(Role.OFFICIAL, email="elsewhere@example.org", divisions=[other])
        make_user(email="citizen@example.org", divisions=[home])
        proposal = _proposal(home.id)
        created, due = as_utc(proposal.created_at), as_utc(proposal.due_at)
        proposal_id = proposal.id

        assert queue_official_reminders(now=created) == 1
        assert queue_official_reminders(now=created + timedelta(minutes=5)) == 0  # once
        # Three days before the due date, then (after it) once each day.
        assert queue_official_reminders(now=due - timedelta(days=2)) == 1
        assert queue_official_reminders(now=due - timedelta(days=1)) == 0
        # Days of the site's calendar (Seoul): 01:00 and 23:00 of one local day, which a
        # UTC day would split at 09:00. The job's clock is UTC.
        local_day = datetime.combine(
            due.astimezone(zone_of()).date() + timedelta(days=1), datetime.min.time(), zone_of()
        ).astimezone(UTC)
        assert queue_official_reminders(now=local_day + timedelta(hours=1)) == 1
        assert queue_official_reminders(now=local_day + timedelta(hours=23)) == 0
        assert queue_official_reminders(now=local_day + timedelta(days=1, hours=1)) == 1
        assert deliver_due_mail().sent == 4

    assert _subjects(smtp_server.mailbox, "home@example.org") == [
        "New proposal in your queue: Longer library hours",
        "Answer due in 3 days or less: Longer library hours",
        "Answer overdue: Longer library hours",
        "Answer overdue: Longer library hours",
    ]
    assert {m["To"] for m in smtp_server.mailbox.messages} == {"home@example.org"}
    first = smtp_server.mailbox.messages[0]
    # Queued by a background job: links use SITE_URL.
    assert f"https://madang.example.org/proposals/{proposal_id}" in text_part(first)


def test_a_division_without_officials_reaches_every_official(app):
    with app.app_context():
        make_user(Role.OFFICIAL, email="anyone@example.org")
        _proposal(make_division().id)
        assert queue_official_reminders() == 1
        assert db.session.scalar(select(OutboxMessage.to_address)) == "anyone@example.org"


def test_reminder_mail_is_in_korean_with_a_one_click_unsubscribe(mail_app, client, smtp_server):
    with mail_app.app_context():
        division = make_division()
        official = make_user(Role.OFFICIAL, email="kim@example.org", name="김", language="ko")
        official.divisions = [division]
        db.session.commit()
        official_id, division_id = official.id, division.id
        _proposal(division_id, title="도서관 개관 시간 연장")
        queue_official_reminders()
        db.session.commit()
        assert deliver_due_mail().sent == 1

    (message,) = smtp_server.mailbox.messages
    assert message["Subject"] == "담당 대기열의 새 제안: 도서관 개관 시간 연장"
    assert message["Content-Language"] == "ko"
    assert "공개 답변을 해 주세요" in text_part(message)
    assert "이런 메일 그만 받기" in html_part(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(\S+)>", message["List-Unsubscribe"]).group(1)
    assert link in text_part(message) and link in html_part(message)
    path = re.sub(r"^https?://[^/]+", "", link)

    # What a mail client does on "unsubscribe" (RFC 8058): a POST with no cookie, no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with mail_app.app_context():
        assert db.session.scalars(select(MailOptOut.kind)).all() == [MailKind.PROPOSAL_ASSIGNED]
        # That kind stops; other kinds still arrive.
        _proposal(division_id, title="둘째 제안")
        assert queue_official_reminders() == 0
        official = db.session.get(type(official), official_id)
        assert (
            mail.queue_mail(
                MailKind.PROPOSAL_OVERDUE,
                user=official,
                context={"proposal": _proposal(division_id, title="셋째"), "due_at": utcnow()},
            )
            is not None
        )


def test_a_forged_unsubscribe_link_changes_nothing(app, client):
    with app.app_context():
        user = make_user()
        token = mail.unsubscribe_token(user.id, MailKind.PROPOSAL_OVERDUE)
        # A reset mail cannot be switched off, even with a well-signed link.
        transactional = mail.unsubscribe_token(user.id, MailKind.PASSWORD_RESET)
    assert client.post(f"/mail/unsubscribe/{token[:-3]}xyz").status_code == 400
    assert client.post(f"/mail/unsubscribe/{transactional}").status_code == 400
    page = client.get(f"/mail/unsubscribe/{token}").get_data(as_text=True)
    assert "Stop this mail" in page  # a GET (a link scanner) only asks
    with app.app_context():
        assert db.session.scalar(select(MailOptOut)) is None


def _session(lead, division, starts_at, title="Care for the elderly"):
    session = RoundtableSession(
        division_id=division.id, title=title, starts_at=starts_at, lead_id=lead.id
    )
    db.session.add(session)
    db.session.flush()
    return session


def test_registrants_get_the_link_and_time_a_day_and_an_hour_before(mail_app, smtp_server):
    with mail_app.app_context():
        division = make_division()
        lead = make_user(Role.FACILITATOR)
        ana = make_user(email="ana@example.org")
        start = utcnow().replace(microsecond=0) + timedelta(days=3)
        session = _session(lead, division, start)
        db.session.add(Participant(session_id=session.id, user_id=ana.id))
        db.session.commit()
        session_id = session.id

        assert queue_session_reminders(now=start - timedelta(days=2)) == 0  # too early
        assert queue_session_reminders(now=start - timedelta(hours=23)) == 1
        assert queue_session_reminders(now=start - timedelta(hours=22)) == 0
        assert queue_session_reminders(now=start - timedelta(minutes=50)) == 1
        assert queue_session_reminders(now=start + timedelta(minutes=5)) == 0  # started
        assert deliver_due_mail().sent == 2

    day, hour = smtp_server.mailbox.messages
    assert day["Subject"] == "Tomorrow: Care for the elderly"
    assert hour["Subject"] == "In an hour: Care for the elderly"
    body = text_part(day)
    # In the site's zone (Asia/Seoul, UTC+9), the zone named.
    seoul = start + timedelta(hours=9)
    assert seoul.strftime("%Y-%m-%d %H:%M") + " (South Korea Time)" in body
    assert re.search(rf"http://\S+/roundtables/{session_id}\b", body)
    assert day["List-Unsubscribe"] is not None


def test_the_scheduler_queues_and_logs_reminders_in_the_background(app):
    """The periodic jobs as the server runs them: no MAIL_SERVER, so the mail is logged."""
    with app.app_context():
        make_user(Role.OFFICIAL, email="on-duty@example.org")
        _proposal(make_division().id)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline and status != MailStatus.LOGGED:
        run_due_jobs_once(app, {})  # every job is due on a fresh clock
        time.sleep(0.3)
        with app.app_context():
            status = db.session.scalar(
                select(OutboxMessage.status).where(
                    OutboxMessage.to_address == "on-duty@example.org"
                )
            )
    assert status == MailStatus.LOGGED
    assert wait_until_idle()  # no job of this test outlives its database
