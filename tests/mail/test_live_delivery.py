"""The whole path on the real server (gevent, scheduler running): `POST /password/forgot`
delivers a mail to a real SMTP server on 127.0.0.1 within 30 s, and its link resets the
password once."""

import re
import time

import pytest
import requests

from deliberation.accounts import services as accounts
from deliberation.config import TestConfig
from loadtest.liveserver import LiveServer
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.mail.conftest import text_part

pytestmark = pytest.mark.slow


def test_forgot_password_on_the_live_server_delivers_a_working_link(
    app, smtp_server, tmp_path, capsys, server_forker
):
    with app.app_context():
        make_user(email="demo@example.org")
    server = LiveServer(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "live-server.log",
        secret_key=TestConfig.SECRET_KEY,
        env={"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_server.port)},
        start_timeout=30,
        forker=server_forker,
    )
    server.start()
    try:
        browser = requests.Session()
        token = csrf_token_from(browser.get(server.url + "/password/forgot").text)
        asked_at = time.monotonic()
        response = browser.post(
            server.url + "/password/forgot",
            data={"email": "demo@example.org", "csrf_token": token},
        )
        assert response.status_code == 200 and "a reset link is on its way" in response.text
        while not smtp_server.mailbox.messages and time.monotonic() - asked_at < 30:
            time.sleep(0.2)
        assert smtp_server.mailbox.messages, "no mail within 30 s"
        with capsys.disabled():
            print(f"\n[mail] live server: reset mail delivered {time.monotonic() - asked_at:.1f} s")
        (message,) = smtp_server.mailbox.messages
        link = re.search(r"http://\S+/password/reset/\S+", text_part(message)).group(0)
        assert link.startswith(server.url)

        def set_password(password: str) -> requests.Response:
            form = browser.get(link).text
            return browser.post(
                link,
                data={
                    "password": password,
                    "confirm": password,
                    "csrf_token": csrf_token_from(form),
                },
                allow_redirects=False,
            )

        assert set_password("a sentence for the live test").status_code == 302
        again = set_password("another sentence for the test")
        assert again.status_code == 400 and "invalid or has expired" in again.text
    finally:
        server.stop()
    with app.app_context():
        assert accounts.authenticate("demo@example.org", "a sentence for the live test")
