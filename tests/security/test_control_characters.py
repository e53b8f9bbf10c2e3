"""Control characters in typed text: one cleaner (core.sanitize.clean_text) behind every form
field and socket text payload refuses them with one message, on SQLite and PostgreSQL alike.

Before it, a NUL byte in a comment was stored on SQLite and refused on PostgreSQL as "a number
in the request is out of range"; over the socket PostgreSQL answered "server_error".
"""

import importlib
import os
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField

import deliberation
from deliberation import create_app
from deliberation.accounts.models import Role, User
from deliberation.agendas.models import Comment
from deliberation.config import TestConfig, postgres_engine_options
from deliberation.core.forms import CleanTextForm, clean_field_text
from deliberation.extensions import db, socketio
from tests.agendas.helpers import client_id, make_item
from tests.conftest import FAST_ARGON2, AuthActions, csrf_token_from, wait_for_background_work
from tests.factories import make_division, make_user

MESSAGE = (
    "The text contains a control character (such as a NUL byte) that cannot be saved. "
    "Please remove it and try again."
)
MESSAGE_KO = "입력한 글에 저장할 수 없는 제어 문자(예: NUL 문자)가 들어 있습니다."
NS = "/agendas"


# --- every form and every text field -----------------------------------------------------------


def _all_form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(deliberation.__path__, "deliberation."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found: list[type[FlaskForm]] = []
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.startswith("deliberation.")]


def test_every_form_cleans_every_text_field_but_passwords(app):
    forms = _all_form_classes()
    assert len(forms) > 15  # every feature's forms were found
    text_fields = 0
    with app.test_request_context():
        for form_class in forms:
            assert issubclass(form_class, CleanTextForm), form_class
            form = form_class(meta={"csrf": False})
            for field in form:
                cleaned = clean_field_text in field.filters
                if isinstance(field, StringField) and not isinstance(field, PasswordField):
                    assert cleaned, f"{form_class.__name__}.{field.name}"
                    text_fields += 1
                else:
                    assert not cleaned, f"{form_class.__name__}.{field.name}"
    assert text_fields > 20


# --- a comment with a NUL byte, on both databases --------------------------------------------


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own (`app_on` creates and drops every table in it, which
    the session's database, shared by the `app` fixtures of this process, must not see)."""
    from scripts.servers import throwaway_postgres_database

    with throwaway_postgres_database(os.environ.get("MADANG_TEST_DATABASE_URL")) as url:
        yield url


@contextmanager
def app_on(database_url: str, name: str) -> Iterator[Flask]:
    """A fresh app on `database_url` with empty tables, dropped afterwards."""
    overrides: dict = {"SQLALCHEMY_DATABASE_URI": database_url, **FAST_ARGON2}
    if database_url.startswith("postgresql"):
        overrides |= {
            "SQLALCHEMY_DATABASE_URI": f"{database_url}?application_name={name}",
            "SQLALCHEMY_ENGINE_OPTIONS": postgres_engine_options(),
        }
    app = create_app(TestConfig, overrides)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        wait_for_background_work()
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def _post_comment_form(client, item_id: int, body: str):
    token = csrf_token_from(client.get(f"/agendas/{item_id}").get_data(as_text=True))
    return client.post(
        f"/agendas/{item_id}/comments",
        data={"csrf_token": token, "body": body, "client_id": client_id()},
    )


def _stored_bodies(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Comment.body).order_by(Comment.id)))


def _nul_comment_outcome(app: Flask) -> dict:
    """What a citizen sees posting `a NUL b` by form and by socket, and what was stored; what
    searching for it answers."""
    with app.app_context():
        author = make_user(email="alice@example.org")
        make_user(Role.ADMIN, email="admin@example.org")
        item_id = make_item(author, make_division()).id
    admin = app.test_client()
    assert AuthActions(admin).login("admin@example.org").status_code == 302
    searches = [
        app.test_client().get("/agendas/", query_string={"q": "a\x00b"}),
        admin.get("/admin/users", query_string={"q": "a\x00b"}),
        admin.get("/admin/audit", query_string={"action": "a\x00b"}),
    ]
    http = app.test_client()
    assert AuthActions(http).login("alice@example.org").status_code == 302
    page = _post_comment_form(http, item_id, "a\x00b")
    sock = socketio.test_client(app, flask_test_client=http, namespace=NS)
    ack = sock.emit(
        "post_comment",
        {"item_id": item_id, "body": "a\x00b", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    refused_bodies = _stored_bodies(app)
    # The database takes clean text from both paths: CRLF from a textarea is stored as "\n".
    assert _post_comment_form(http, item_id, "line one\r\nline two").status_code == 302
    clean = {"item_id": item_id, "body": "three\rfour\tfive", "client_id": client_id()}
    assert sock.emit("post_comment", clean, namespace=NS, callback=True)["ok"] is True
    sock.disconnect(namespace=NS)
    html = page.get_data(as_text=True)
    return {
        "form_status": page.status_code,
        "form_shows_message": MESSAGE in html,
        "form_says_out_of_range": "out of range" in html,
        "searches": [(r.status_code, MESSAGE in r.get_data(as_text=True)) for r in searches],
        "socket_ack": ack,
        "refused_bodies": refused_bodies,
        "clean_bodies": _stored_bodies(app),
    }


def test_a_nul_byte_in_a_comment_is_refused_alike_on_sqlite_and_postgresql(
    tmp_path: Path, postgres_database: str
):
    outcomes = {}
    for name, url in (
        ("sqlite", f"sqlite:///{tmp_path / 'nul.sqlite3'}"),
        ("postgresql", postgres_database),
    ):
        with app_on(url, tmp_path.name) as app:
            outcomes[name] = _nul_comment_outcome(app)
    assert outcomes["sqlite"] == outcomes["postgresql"]
    assert outcomes["sqlite"] == {
        "form_status": 400,
        "form_shows_message": True,
        "form_says_out_of_range": False,
        "searches": [(400, True)] * 3,
        "socket_ack": {"ok": False, "error": "control_character", "message": MESSAGE},
        "refused_bodies": [],
        "clean_bodies": ["line one\nline two", "three\nfour\tfive"],
    }


# --- other text fields and payloads ------------------------------------------------------------


def _register(client, display_name: str, **headers):
    token = csrf_token_from(client.get("/register", headers=headers).get_data(as_text=True))
    return client.post(
        "/register",
        headers=headers,
        data={
            "display_name": display_name,
            "email": "minji@example.org",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
            "preferred_language": "ko",
            "member_category": "citizen",
            "csrf_token": token,
        },
    )


@pytest.mark.parametrize(
    ("language", "message"), [("en", MESSAGE), ("ko", MESSAGE_KO)], ids=["english", "korean"]
)
def test_a_control_character_in_a_display_name_is_refused_at_registration(
    app, client, language, message
):
    for name in ("Kim\x00Minji", "Kim\x1b[31mMinji", "Kim\u0085Minji"):
        response = _register(client, name, **{"Accept-Language": language})
        assert response.status_code == 400, name
        assert message in response.get_data(as_text=True), name
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
    assert _register(client, "Kim\tMinji").status_code == 302


def test_a_control_character_in_a_socket_text_payload_is_refused(app):
    """Every socket text goes through payload_str: a flag reason, as a comment body does."""
    with app.app_context():
        author = make_user(email="alice@example.org")
        make_user(email="bob@example.org")
        item_id = make_item(author, make_division()).id
    http = app.test_client()
    AuthActions(http).login("bob@example.org")
    sock = socketio.test_client(app, flask_test_client=http, namespace=NS)
    posted = sock.emit(
        "post_comment",
        {"item_id": item_id, "body": "fine", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    ack = sock.emit(
        "flag",
        {"comment_id": posted["comment"]["id"], "reason": "spam\x07"},
        namespace=NS,
        callback=True,
    )
    assert ack == {"ok": False, "error": "control_character", "message": MESSAGE}
