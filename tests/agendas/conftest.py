"""Fixtures for the agendas tests: people with roles, an item in discussion, a login helper."""

import re
from types import SimpleNamespace

import pytest

from deliberation.accounts.models import Division, Role, User
from deliberation.extensions import db
from tests.agendas.helpers import make_item
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import make_division, make_user


@pytest.fixture
def people(app):
    """Ids of a division and three people (no app context is left pushed: requests stay clean)."""
    with app.app_context():
        division = make_division("elderly")
        db.session.commit()
        return SimpleNamespace(
            division=division.id,
            alice=make_user(email="alice@example.org", name="Alice Kim").id,
            bob=make_user(email="bob@example.org", name="Bob Lee").id,
            facilitator=make_user(
                Role.FACILITATOR, email="fac@example.org", name="Fa Cilitator"
            ).id,
        )


@pytest.fixture
def item(app, people):
    """The id of an item in discussion, proposed by Alice."""
    with app.app_context():
        return make_item(user(people.alice), db.session.get(Division, people.division)).id


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


@pytest.fixture
def relaxed_limits(app):
    """Lift the per-person rate limits for tests that build big threads through the services."""
    for name in ("AGENDAS_COMMENT_LIMIT", "AGENDAS_REACT_LIMIT", "AGENDAS_EDIT_LIMIT"):
        app.config[name] = "100000/minute"


def login(client, email: str) -> AuthActions:
    auth = AuthActions(client)
    response = auth.login(email)
    assert response.status_code == 302
    return auth


def page_token(client, path: str) -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def comment_ids_on(html: str) -> list[int]:
    """Comment ids in page order (the hidden live template excluded)."""
    ids = [int(x) for x in re.findall(r'<li class="comment [^"]*" id="comment-(\d+)"', html)]
    return [i for i in ids if i != 987654321]
