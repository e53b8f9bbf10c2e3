"""The mails a person asks for: a password reset link (one hour, once) and the address
confirmation at registration, delivered through a real SMTP server, in the person's language."""

import re
import time

from itsdangerous import TimestampSigner
from sqlalchemy import select

from deliberation.accounts import services as accounts
from deliberation.extensions import db
from deliberation.mail import services as mail
from deliberation.mail.delivery import deliver_due_mail
from deliberation.mail.models import ConfirmedAddress, OutboxMessage
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.mail.conftest import html_part, text_part

RESET_LINK = re.compile(r"http://localhost(/password/reset/[^\s\"<]+)")
CONFIRM_LINK = re.compile(r"http://localhost(/mail/confirm/[^\s\"<]+)")


def _ask_for_reset(client, email: str) -> None:
    token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _set_password(client, link: str, password: str):
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    return client.post(link, data={"password": password, "confirm": password, "csrf_token": token})


def _delivered_reset_link(app, client, smtp_server, email: str) -> str:
    _ask_for_reset(client, email)
    with app.app_context():
        assert deliver_due_mail().sent == 1
    return RESET_LINK.search(text_part(smtp_server.mailbox.messages[-1])).group(1)


def test_the_login_page_links_to_forgot_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page


def test_the_mailed_reset_link_works_once(mail_app, client, smtp_server):
    with mail_app.app_context():
        make_user(email="once@example.org")
    link = _delivered_reset_link(mail_app, client, smtp_server, "once@example.org")
    assert _set_password(client, link, "a new and long sentence").status_code == 302
    with mail_app.app_context():
        assert accounts.authenticate("once@example.org", "a new and long sentence")
    again = _set_password(client, link, "yet another long sentence")
    assert again.status_code == 400
    assert "invalid or has expired" in again.get_data(as_text=True)
    with mail_app.app_context():
        assert accounts.authenticate("once@example.org", "yet another long sentence") is None


def test_the_reset_link_expires_after_an_hour(mail_app, client, smtp_server, monkeypatch):
    with mail_app.app_context():
        make_user(email="late@example.org")
    # The mail was written 61 minutes ago (the signer's clock only, not the server's).
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3660)
    stale = _delivered_reset_link(mail_app, client, smtp_server, "late@example.org")
    # ... and this one 59 minutes ago: still good.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3540)
    fresh = _delivered_reset_link(mail_app, client, smtp_server, "late@example.org")
    monkeypatch.undo()
    refused = _set_password(client, stale, "a new and long sentence")
    assert refused.status_code == 400
    assert "invalid or has expired" in refused.get_data(as_text=True)
    assert _set_password(client, fresh, "a new and long sentence").status_code == 302


def test_the_reset_mail_is_in_the_persons_language(mail_app, client, smtp_server):
    with mail_app.app_context():
        make_user(email="min@example.org", name="민지", language="ko")
    # Asked from an English browser: the mail follows the account's language, not the page's.
    client.get("/", headers={"Accept-Language": "en"})
    _delivered_reset_link(mail_app, client, smtp_server, "min@example.org")
    message = smtp_server.mailbox.messages[-1]
    assert message["Subject"] == "마당 비밀번호 재설정"
    assert message["Content-Language"] == "ko"
    assert "민지 님, 안녕하세요." in text_part(message)
    assert '<html lang="ko">' in html_part(message)
    assert "60분 안에" in html_part(message)


def test_registration_mails_a_confirmation_link_that_confirms_the_address(
    mail_app, client, smtp_server
):
    page = client.get("/register").get_data(as_text=True)
    response = client.post(
        "/register",
        data={
            "display_name": "New person",
            "email": "new@example.org",
            "password": "a long enough sentence",
            "confirm": "a long enough sentence",
            "preferred_language": "en",
            "member_category": "citizen",
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 302
    with mail_app.app_context():
        assert deliver_due_mail().sent == 1
        user = accounts.find_user_by_email("new@example.org")
        assert not mail.is_address_confirmed(user)
    (message,) = smtp_server.mailbox.messages
    assert message["Subject"] == "Confirm your email address for Madang"
    link = CONFIRM_LINK.search(text_part(message)).group(1)
    form = client.get(link).get_data(as_text=True)
    assert client.post(link, data={"csrf_token": csrf_token_from(form)}).status_code == 302
    with mail_app.app_context():
        user = accounts.find_user_by_email("new@example.org")
        assert mail.is_address_confirmed(user)
        assert db.session.scalar(select(ConfirmedAddress.email)) == "new@example.org"


def test_a_forged_confirmation_link_confirms_nothing(app, client):
    with app.app_context():
        make_user(email="x@example.org", confirmed=False)
    link = "/mail/confirm/forged-token"
    form = client.get(link).get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_token_from(form)})
    assert response.status_code == 400
    assert "invalid or has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ConfirmedAddress)) is None


def test_the_settings_page_shows_the_confirmation_and_sends_it_again(app, client, auth):
    with app.app_context():
        make_user(email="unsure@example.org", confirmed=False)
    auth.login("unsure@example.org")
    page = client.get("/mail/preferences").get_data(as_text=True)
    assert "This address is not confirmed yet." in page
    assert "we mail you nothing but password resets" in page
    response = client.post("/mail/confirm/again", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    with app.app_context():
        (message,) = db.session.scalars(select(OutboxMessage))
        assert message.to_address == "unsure@example.org"
        link = CONFIRM_LINK.search(message.body_text).group(1)
    form = client.get(link).get_data(as_text=True)
    client.post(link, data={"csrf_token": csrf_token_from(form)})
    assert "This address is confirmed." in client.get("/mail/preferences").get_data(as_text=True)


def test_with_site_url_a_forged_host_header_cannot_redirect_the_reset_link(app, client):
    app.config["SITE_URL"] = "https://madang.example.org"
    with app.app_context():
        make_user(email="target@example.org")
    evil = {"Host": "evil.example.net"}
    page = client.get("/password/forgot", headers=evil).get_data(as_text=True)
    response = client.post(
        "/password/forgot",
        data={"email": "target@example.org", "csrf_token": csrf_token_from(page)},
        headers=evil,
    )
    assert response.status_code == 302
    with app.app_context():
        (message,) = db.session.scalars(select(OutboxMessage))
    assert "https://madang.example.org/password/reset/" in message.body_text
    assert "evil.example.net" not in message.body_text + message.body_html
