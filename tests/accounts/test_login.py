"""Logging in and out: identical answers, rate limits, safe redirects, server-side sessions."""

import re

from sqlalchemy import select

from deliberation.accounts import services
from deliberation.extensions import db
from deliberation.mail.models import OutboxMessage
from tests.conftest import csrf_token_from
from tests.factories import make_user


def test_login_and_logout(app, client, auth):
    with app.app_context():
        make_user(email="ana@example.org", name="Ana")
    response = auth.login("ana@example.org")
    assert response.status_code == 302
    assert "Ana" in client.get("/").get_data(as_text=True)
    auth.logout()
    assert client.get("/profile").status_code == 302  # back to the login page


def test_unknown_email_and_wrong_password_answer_identically(app, client, auth):
    with app.app_context():
        make_user(email="known@example.org")
    wrong = auth.login("known@example.org", "not the password at all")
    unknown = auth.login("nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401

    def message(response):
        page = response.get_data(as_text=True)
        main = (
            page[page.index("<main") : page.index("</main>")]
            .replace("nobody@example.org", "X")
            .replace("known@example.org", "X")
        )
        # The CSRF token carries a timestamp: two requests a second apart differ there
        # whatever the answer, so only its presence is compared.
        return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1TOKEN", main)

    assert "TOKEN" in message(wrong)
    assert message(wrong) == message(unknown)


def test_password_reset_answers_identically_and_works(app, client):
    with app.app_context():
        make_user(email="reset@example.org")

    def ask(email):
        token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
        return client.post(
            "/password/forgot", data={"email": email, "csrf_token": token}, follow_redirects=True
        )

    known, unknown = ask("reset@example.org"), ask("ghost@example.org")
    assert known.status_code == unknown.status_code == 200
    assert "a reset link is on its way" in known.get_data(as_text=True)
    assert "a reset link is on its way" in unknown.get_data(as_text=True)
    with app.app_context():
        outbox = list(db.session.scalars(select(OutboxMessage)))
    assert [m.to_address for m in outbox] == ["reset@example.org"]

    link = re.search(r"http://localhost(/password/reset/\S+)", outbox[0].body_text).group(1)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    new_password = "a brand new sentence"
    response = client.post(
        link, data={"password": new_password, "confirm": new_password, "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        assert services.authenticate("reset@example.org", new_password) is not None
    # The link dies once used.
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    again = client.post(
        link, data={"password": "x" * 12 + "yz!", "confirm": "x" * 12 + "yz!", "csrf_token": token}
    )
    assert again.status_code == 400
    assert "invalid or has expired" in again.get_data(as_text=True)


def test_login_is_rate_limited_per_account(app, client, auth):
    with app.app_context():
        make_user(email="target@example.org")
    statuses = [auth.login("target@example.org", f"guess number {i}").status_code for i in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_login_is_rate_limited_per_ip_across_accounts(app, client, auth):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    statuses = [
        auth.login(f"someone{i}@example.org", "whatever guess").status_code for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_next_redirect_only_to_this_site(app, client, auth):
    with app.app_context():
        make_user(email="nav@example.org")
    for evil in (
        "https://evil.example.org/",
        "//evil.example.org",
        "/\\evil.example.org",
        "javascript:alert(1)",
    ):
        response = auth.login("nav@example.org", next=evil)
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil
        auth.logout()
    response = auth.login("nav@example.org", next="/profile")
    assert response.headers["Location"] == "/profile"


def test_logout_invalidates_the_old_cookie_server_side(app, client, auth):
    with app.app_context():
        make_user(email="cookie@example.org")
    auth.login("cookie@example.org")
    stolen = client.get_cookie("session").value
    auth.logout()
    other = app.test_client()
    other.set_cookie("session", stolen)
    assert other.get("/profile").status_code == 302


def test_deactivated_users_old_cookie_stops_working(app, client, auth):
    with app.app_context():
        admin = make_user(email="boss@example.org")
        from deliberation.accounts.models import Role

        services.set_roles(admin, admin, {Role.ADMIN})
        target = make_user(email="gone@example.org")
        db.session.commit()
        target_id, admin_id = target.id, admin.id
    victim = app.test_client()
    AuthLogin = type(auth)
    AuthLogin(victim).login("gone@example.org")
    assert victim.get("/profile").status_code == 200
    with app.app_context():
        services.set_active(
            db.session.get(type(target), admin_id), db.session.get(type(target), target_id), False
        )
        db.session.commit()
    assert victim.get("/profile").status_code == 302
    assert AuthLogin(app.test_client()).login("gone@example.org").status_code == 401
