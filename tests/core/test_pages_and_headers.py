"""Security headers, the public pages, language choice and the CLI commands."""

from sqlalchemy import func, select

from deliberation.accounts.models import Division, MemberCategory, Role, User
from deliberation.extensions import db
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user


def test_security_headers_and_csp_without_unsafe_inline(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HttpOnly" in client.get("/login").headers.get("Set-Cookie", "HttpOnly")


def test_no_inline_script_or_style_on_foundation_pages(client):
    for path in ("/", "/login", "/register", "/participation"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page, path


def test_participation_page_shows_percentages(app, client):
    with app.app_context():
        elderly = make_division("elderly")
        make_user(category=MemberCategory.CITIZEN, divisions=[elderly])
        make_user(category=MemberCategory.CITIZEN)
        make_user(category=MemberCategory.EXPERT, divisions=[elderly])
        make_user(category=MemberCategory.CIVIL_SERVANT)
    page = client.get("/participation").get_data(as_text=True)
    assert "4 active members" in page
    assert "50.0%" in page  # citizens 2/4, elderly division 2/4
    assert "25.0%" in page  # experts, civil servants


def test_language_switch_is_remembered_for_the_user(app, client, auth):
    with app.app_context():
        make_user(email="lang@example.org", language="en")
    auth.login("lang@example.org")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/language", data={"language": "ko", "csrf_token": token, "next": "/"})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "lang@example.org"))
        assert user.preferred_language == "ko"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ko"' in page
    assert "로그아웃" in page


def test_anonymous_language_follows_the_browser_then_the_switch(client):
    page = client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ko"' in page
    token = csrf_token_from(page)
    client.post("/language", data={"language": "en", "csrf_token": token})
    page = client.get("/", headers={"Accept-Language": "ko-KR"}).get_data(as_text=True)
    assert '<html lang="en"' in page


def test_large_text_toggle(client):
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/large-text", data={"csrf_token": token})
    assert 'class="large-text"' in client.get("/").get_data(as_text=True)


def test_cli_create_admin_and_refuses_weak_password(app, runner):
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "root@example.org",
            "--name",
            "Root",
            "--password",
            "a long enough sentence",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "root@example.org"))
        assert Role.ADMIN in user.roles
    weak = runner.invoke(
        args=["create-admin", "--email", "r2@example.org", "--name", "R", "--password", "short"]
    )
    assert weak.exit_code != 0
    assert "at least 10 characters" in weak.output


def test_seed_demo_seeds_once(app, runner):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Division.id))) == 10
        emails = set(db.session.scalars(select(User.email)))
        assert {
            "admin@madang.example",
            "official@madang.example",
            "citizen@madang.example",
            "facilitator@madang.example",
        } <= emails
        users = db.session.scalar(select(func.count(User.id)))
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has data" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users


def test_errors_render_as_friendly_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    assert client.get("/no-such-page", headers={"Accept": "application/json"}).json["error"]


def test_divisions_factory_names(app):
    with app.app_context():
        division = make_division("x")
        assert division.name_for("ko").startswith("분과")


def test_the_site_has_an_icon_at_both_addresses_browsers_try(client):
    """Every page links the icon, and /favicon.ico (asked before any page is read) leads to it,
    so a first visit logs no 404 in the browser's console."""
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.data
    legacy = client.get("/favicon.ico")
    assert legacy.status_code in (301, 302, 308)
    assert legacy.headers["Location"].endswith("/static/favicon.svg")
    with client.get("/favicon.ico", follow_redirects=True) as followed:
        assert followed.status_code == 200
