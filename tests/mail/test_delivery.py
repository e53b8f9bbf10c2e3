"""Delivery through a real SMTP server: queued in the transaction, sent after the commit by the
background sender, retried with backoff when the server is down, failures on the Outbox page."""

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from deliberation.accounts.models import Role
from deliberation.core.mail import send_mail
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.mail.delivery import (
    CLAIM_LEASE,
    backoff,
    claim_due,
    deliver_due_mail,
)
from deliberation.mail.models import MailStatus, OutboxMessage
from loadtest.liveserver import free_port
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.mail.conftest import html_part, text_part


def _forgot(client, email: str):
    token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_reset_mail_is_queued_by_the_request_and_delivered_by_the_sender(
    mail_app, client, smtp_server
):
    with mail_app.app_context():
        make_user(email="ana@example.org", name="Ana")
    assert _forgot(client, "ana@example.org").status_code == 302
    # The request only wrote the outbox: nothing reached the server yet.
    assert smtp_server.mailbox.messages == []
    with mail_app.app_context():
        (queued,) = _outbox()
        assert queued.status == MailStatus.QUEUED
        report = deliver_due_mail()
        assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
        (sent,) = _outbox()
        assert sent.status == MailStatus.SENT and sent.attempts == 1
    (message,) = smtp_server.mailbox.messages
    assert smtp_server.mailbox.recipients == [["ana@example.org"]]
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == "Reset your Madang password"
    assert message["Content-Language"] == "en"
    assert message.get_content_type() == "multipart/alternative"
    assert "/password/reset/" in text_part(message)
    assert 'href="http://localhost/password/reset/' in html_part(message)
    # A reset link is mail the person asked for: there is nothing to unsubscribe from.
    assert message["List-Unsubscribe"] is None
    with mail_app.app_context():
        assert deliver_due_mail().sent == 0  # sent once, never again


def test_an_unknown_address_queues_nothing_and_answers_the_same(mail_app, client):
    with mail_app.app_context():
        make_user(email="known@example.org")
    known, unknown = _forgot(client, "known@example.org"), _forgot(client, "ghost@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    with mail_app.app_context():
        assert [m.to_address for m in _outbox()] == ["known@example.org"]


def test_a_down_server_means_retries_with_backoff_then_a_failure_the_admin_sees(
    app, client, auth, smtp_server, caplog
):
    port = free_port()  # nothing listens here yet
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_BASE_S=60
    )
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org")
        send_mail("someone@example.org", "Hello", "A message that must not be lost.")
        db.session.commit()
        start = utcnow()

        report = deliver_due_mail(now=start)
        assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
        (message,) = _outbox()
        assert message.status == MailStatus.QUEUED and message.attempts == 1
        assert as_utc(message.next_attempt_at) == start + timedelta(seconds=60)
        assert "ConnectionRefusedError" in message.last_error

        # Not due yet: no attempt before the backoff has passed.
        assert deliver_due_mail(now=start + timedelta(seconds=59)).retrying == 0
        second = start + timedelta(seconds=60)
        assert deliver_due_mail(now=second).retrying == 1
        db.session.expire_all()
        (message,) = _outbox()
        assert message.attempts == 2
        assert as_utc(message.next_attempt_at) == second + timedelta(seconds=120)  # doubled

        with caplog.at_level(logging.WARNING, logger="deliberation.mail.delivery"):
            report = deliver_due_mail(now=second + timedelta(seconds=120))
        assert report.failed == 1
        (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "someone@example.org failed for good after 3 attempts" in logged.getMessage()
        db.session.expire_all()
        (message,) = _outbox()
        assert message.status == MailStatus.FAILED and message.attempts == 3
        message_id = message.id
        # Failed for good: the sender leaves it alone, it stays in the outbox.
        assert deliver_due_mail(now=second + timedelta(days=1)).failed == 0

    auth.login("admin@example.org")
    # Every admin page's menu shows it.
    assert "1 failed</span>" in client.get("/admin/users").get_data(as_text=True)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "1 message could not be delivered." in page
    assert "someone@example.org" in page and "ConnectionRefusedError" in page
    failed_only = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "someone@example.org" in failed_only
    assert "someone@example.org" not in client.get("/admin/outbox?status=sent").get_data(
        as_text=True
    )

    # The server is back (the admin fixed MAIL_PORT): "Send again" gives a fresh round.
    app.config["MAIL_PORT"] = smtp_server.port
    detail = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/outbox/{message_id}/retry", data={"csrf_token": csrf_token_from(detail)}
    )
    assert response.status_code == 302
    with app.app_context():
        assert deliver_due_mail().sent == 1
    (delivered,) = smtp_server.mailbox.messages
    assert "A message that must not be lost." in text_part(delivered)


def test_backoff_doubles_and_is_capped():
    assert [backoff(n, 30).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(40, 30) == timedelta(hours=6)


def test_a_permanent_refusal_fails_at_once(app, smtp_server):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 No such mailbox"

    smtp_server.mailbox.handle_RCPT = refuse
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        send_mail("nobody@example.org", "Hello", "Body")
        db.session.commit()
        assert deliver_due_mail().failed == 1
        (message,) = _outbox()
        assert message.status == MailStatus.FAILED and message.attempts == 1
        assert "550" in message.last_error


def test_without_a_mail_server_mail_goes_to_the_log_and_the_outbox_page(app, client, auth, caplog):
    assert not app.config.get("MAIL_SERVER")
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org")
        make_user(email="demo@example.org")
    _forgot(client, "demo@example.org")
    with app.app_context(), caplog.at_level(logging.INFO, logger="deliberation.mail.delivery"):
        assert deliver_due_mail().logged == 1
        (message,) = _outbox()
        assert message.status == MailStatus.LOGGED
    link = re.search(r"http://localhost(/password/reset/\S+)", caplog.text).group(1)

    auth.login("admin@example.org")
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert "No mail server is configured" in listing and "demo@example.org" in listing
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert link in detail  # a demo user can follow the reset link from here
    auth.logout()
    auth.login("demo@example.org")
    assert client.get("/admin/outbox").status_code == 403
    assert client.get(f"/admin/outbox/{message.id}").status_code == 403


def test_with_a_mail_server_the_outbox_page_keeps_the_text_private(mail_app, client, auth):
    with mail_app.app_context():
        make_user(Role.ADMIN, email="admin@example.org")
        make_user(email="victim@example.org")
    _forgot(client, "victim@example.org")
    auth.login("admin@example.org")
    with mail_app.app_context():
        (message,) = _outbox()
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "victim@example.org" in detail
    assert "/password/reset/" not in detail


def test_the_outbox_page_is_paginated(app, client, auth):
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org")
        for n in range(55):
            send_mail(f"r{n}@example.org", f"Message {n}", "Body")
        db.session.commit()
    auth.login("admin@example.org")
    first = client.get("/admin/outbox").get_data(as_text=True)
    assert "r54@example.org" in first and "r4@example.org" not in first
    assert "Page 1 of 2" in first
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert "r4@example.org" in second and "r54@example.org" not in second


def test_a_message_claimed_by_a_sender_that_died_is_sent_after_the_lease(mail_app, smtp_server):
    with mail_app.app_context():
        send_mail("patient@example.org", "Hello", "Body")
        db.session.commit()
        start = utcnow()
        assert len(claim_due(start, 10)) == 1  # a sender claims it, then its process dies
        assert deliver_due_mail(now=start + timedelta(minutes=1)).claimed == 0  # still leased
        assert smtp_server.mailbox.messages == []
        report = deliver_due_mail(now=start + CLAIM_LEASE)
        assert report.sent == 1
        (message,) = _outbox()
        assert message.status == MailStatus.SENT and message.attempts == 2
    assert [m["To"] for m in smtp_server.mailbox.messages] == ["patient@example.org"]


def test_the_outbox_shows_its_times_in_the_admins_profile_zone(app, client, auth):
    """Like every other time on the site: the viewer's profile zone, named, not bare UTC."""
    with app.app_context():
        make_user(Role.ADMIN, email="admin@example.org").timezone = "Europe/Berlin"
        send_mail("someone@example.org", "Hello", "Body")
        (message,) = _outbox()
        message.created_at = datetime(2026, 1, 15, 12, 0, 30)  # stored as UTC
        message.sent_at = datetime(2026, 1, 15, 12, 5)
        message.status = MailStatus.SENT
        db.session.commit()
        message_id = message.id
    auth.login("admin@example.org")
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert "2026-01-15 13:00 (Germany (Berlin) Time)" in listing
    detail = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "2026-01-15 13:00 (Germany (Berlin) Time)" in detail
    assert "2026-01-15 13:05 (Germany (Berlin) Time)" in detail
    assert "UTC" not in listing + detail and "12:00" not in listing + detail
