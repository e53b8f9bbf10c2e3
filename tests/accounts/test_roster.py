"""The council roster import: a preview with row-numbered errors, then members with verified
categories, divisions and terms, each invited by mail to choose a password."""

import io
import re
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import func, select

from deliberation.accounts import categories
from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.mail.models import OutboxMessage
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user

GOOD = (
    "name,email,category,divisions,term_start,term_end\n"
    "Park Jiwoo,jiwoo@example.org,civil_servant,elderly,2026-01-01,2027-12-31\n"
    "Lee Seoyeon,seoyeon@example.org,복지기관,elderly;disability,2026-01-01,2027-12-31\n"
    "Already Here,here@example.org,Expert,disability,2026-01-01,2027-12-31\n"
)
BAD = (
    "name,email,category,divisions,term_start,term_end\n"
    "Park Jiwoo,jiwoo@example.org,civil_servant,elderly,2026-01-01,2027-12-31\n"
    ",not-an-email,mayor,elderly,2026-01-01,2027-12-31\n"
    "Kim Dohyun,dohyun@example.org,expert,nowhere,2026-13-01,2027-12-31\n"
    "Park Again,JIWOO@example.org,expert,elderly,2027-01-01,2026-12-31\n"
)


def _upload(client, text: str):
    token = csrf_token_from(client.get("/admin/roster").get_data(as_text=True))
    return client.post(
        "/admin/roster",
        data={"csrf_token": token, "roster": (io.BytesIO(text.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )


def _users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def _setup(app) -> None:
    with app.app_context():
        make_division("elderly")
        make_division("disability")
        make_user(Role.ADMIN, email="admin@example.org")
        here = make_user(email="here@example.org", name="Already Here")
        categories.choose_category(here, MemberCategory.CIVIL_SERVANT)  # the roster settles it
        db.session.commit()


def test_bad_rows_are_refused_with_their_row_numbers_and_nothing_is_written(app, client, auth):
    _setup(app)
    auth.login("admin@example.org")
    before = _users(app)
    response = _upload(client, BAD)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "3 rows have errors" in page
    assert "Row 3: The name is missing. / Not an email address: not-an-email" in page
    assert "Unknown category: mayor" in page
    assert "Row 4: Unknown division: nowhere" in page and "2026-13-01" in page
    assert "Row 5: The same email is on row 2. / The term ends before it starts." in page
    assert "/admin/roster/import" not in page  # no import button
    # Sending the bad file straight to the import refuses it too.
    token = csrf_token_from(page)
    client.post("/admin/roster/import", data={"csrf_token": token, "csv_text": BAD})
    assert _users(app) == before
    assert "nothing was imported" in client.get("/admin/roster").get_data(as_text=True)


def test_import_creates_members_with_categories_divisions_terms_and_invitations(app, client, auth):
    _setup(app)
    auth.login("admin@example.org")
    before = _users(app)
    preview = _upload(client, GOOD)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "3 members are ready to import." in page
    assert "existing account: appointed" in page
    assert _users(app) == before  # the preview writes nothing
    token = csrf_token_from(page)
    response = client.post("/admin/roster/import", data={"csrf_token": token, "csv_text": GOOD})
    assert response.status_code == 303
    assert _users(app) == before + 2

    with app.app_context():
        jiwoo = db.session.scalar(select(User).where(User.email == "jiwoo@example.org"))
        seoyeon = db.session.scalar(select(User).where(User.email == "seoyeon@example.org"))
        here = db.session.scalar(select(User).where(User.email == "here@example.org"))
        assert jiwoo.member_category == MemberCategory.CIVIL_SERVANT
        assert seoyeon.member_category == MemberCategory.WELFARE_ORGANISATION
        assert here.member_category == MemberCategory.EXPERT
        assert categories.pending_request_of(here) is None
        assert [d.slug for d in seoyeon.divisions] == ["elderly", "disability"]
        assert jiwoo.council_term_end == date(2027, 12, 31)
        actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions.count("user.appoint") == 3 and "roster.import" in actions
        invitation = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == "jiwoo@example.org")
        )
        link = re.search(r"http://\S+/invitation/\S+", invitation.body_text).group(0)
        assert (
            db.session.scalar(
                select(OutboxMessage).where(OutboxMessage.to_address == "here@example.org")
            ).subject
            == "You are a council member in Madang"
        )

    # Nobody can log in as an imported member until they choose a password from the link.
    auth.logout()
    assert auth.login("jiwoo@example.org", "!invited:").status_code == 401
    path = urlsplit(link).path
    welcome = client.get(path).get_data(as_text=True)
    assert "Welcome to the council: choose your password" in welcome
    token = csrf_token_from(welcome)
    new_password = "a long walk to the river"
    response = client.post(
        path, data={"csrf_token": token, "password": new_password, "confirm": new_password}
    )
    assert response.status_code == 302
    assert auth.login("jiwoo@example.org", new_password).status_code == 302
    # The link dies once used.
    assert (
        client.post(
            path, data={"csrf_token": token, "password": new_password, "confirm": new_password}
        ).status_code
        == 400
    )
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "jiwoo@example.org"))
        assert user.password_hash.startswith("$argon2id$")


def test_only_admins_import(app, client, auth):
    _setup(app)
    with app.app_context():
        make_user(Role.COORDINATOR, email="coord@example.org")
    auth.login("coord@example.org")
    assert client.get("/admin/roster").status_code == 403
    before = _users(app)
    assert client.post("/admin/roster/import", data={"csv_text": GOOD}).status_code in (400, 403)
    assert _users(app) == before
