"""Registering: the happy path and each kind of bad input, which changes nothing."""

from sqlalchemy import func, select

from deliberation.accounts import passwords
from deliberation.accounts.forms import ResetPasswordForm
from deliberation.accounts.models import MemberCategory, User
from deliberation.extensions import db
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_user


def register(client, **overrides):
    token = csrf_token_from(client.get("/register").get_data(as_text=True))
    data = {
        "display_name": "Kim Minji",
        "email": "minji@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "preferred_language": "ko",
        "member_category": "expert",
        "csrf_token": token,
    }
    data.update(overrides)
    return client.post("/register", data=data)


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_creates_account_hashes_password_and_logs_in(app, client):
    response = register(client)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "minji@example.org"))
        # Any category but citizen waits for an administrator (tests/accounts/test_categories.py).
        assert user.member_category == MemberCategory.CITIZEN
        assert user.preferred_language == "ko"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    assert "Kim Minji" in client.get("/profile").get_data(as_text=True)


def test_duplicate_email_is_refused_case_insensitively(app, client):
    with app.app_context():
        make_user(email="taken@example.org")
    response = register(client, email="Taken@Example.org")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert user_count(app) == 1


def test_weak_passwords_are_refused_with_advice(app, client):
    for weak in ("short", "password123", "aaaaaaaaaaaa", "minji-minji-minji"):
        response = register(client, password=weak, confirm=weak)
        assert response.status_code == 400, weak
        page = response.get_data(as_text=True)
        assert "at least 10 characters" in page or "too easy to guess" in page
    assert user_count(app) == 0


def test_over_long_fields_are_refused(app, client):
    response = register(client, display_name="x" * 81)
    assert response.status_code == 400
    response = register(client, email="a" * 250 + "@example.org")
    assert response.status_code == 400
    assert user_count(app) == 0


def test_mismatched_confirmation_and_bad_email_are_refused(app, client):
    assert register(client, confirm="something else entirely").status_code == 400
    assert register(client, email="not-an-email").status_code == 400
    assert user_count(app) == 0


def test_missing_csrf_token_changes_nothing(app, client):
    response = register(client, csrf_token="")
    assert response.status_code == 400
    assert "expired or was not sent from this site" in response.get_data(as_text=True)
    assert user_count(app) == 0


def test_unknown_category_or_language_is_refused(app, client):
    assert register(client, member_category="mayor").status_code == 400
    assert register(client, preferred_language="fr").status_code == 400
    assert user_count(app) == 0


def test_every_problem_is_told_at_once_the_short_password_too(app, client):
    """A bad email and two different short passwords: the length is told now, at its field,
    not only once the passwords match (the rule's one home is passwords.py)."""
    response = register(client, email="not-an-email", password="abc", confirm="abd")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose a password of at least 10 characters." in page
    assert "The passwords differ." in page
    assert 'id="email-error"' in page and 'id="password-error"' in page
    assert user_count(app) == 0


def test_a_new_password_after_a_reset_is_held_to_the_same_rules_at_its_field(app):
    with app.test_request_context():
        reset = ResetPasswordForm(meta={"csrf": False}, data={"password": "short", "confirm": "x"})
        assert not reset.validate()
        assert reset.password.errors == [
            f"Choose a password of at least {passwords.MIN_PASSWORD_LENGTH} characters."
        ]
        assert reset.confirm.errors == ["The passwords differ."]
