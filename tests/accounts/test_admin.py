"""Admin pages: roles, divisions, deactivation, the audit log; nobody else gets in."""

from sqlalchemy import select

from deliberation.accounts.models import Division, Role, User
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user


def setup_people(app):
    with app.app_context():
        admin = make_user(Role.ADMIN, email="admin@example.org")
        citizen = make_user(email="citizen@example.org")
        division = make_division("elderly")
        db.session.commit()
        return admin.id, citizen.id, division.id


def test_admin_assigns_roles_and_divisions_and_it_is_audited(app, client, auth):
    admin_id, citizen_id, division_id = setup_people(app)
    auth.login("admin@example.org")
    page = client.get(f"/admin/users/{citizen_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{citizen_id}",
        data={
            "csrf_token": csrf_token_from(page),
            "roles": ["facilitator", "official"],
            "divisions": [str(division_id)],
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, citizen_id)
        assert user.roles == {Role.CITIZEN, Role.FACILITATOR, Role.OFFICIAL}
        assert [d.slug for d in user.divisions] == ["elderly"]
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_id == admin_id)
        ).all()
        assert "user.set_roles" in actions and "user.set_divisions" in actions


def test_admin_cannot_remove_own_admin_role(app, client, auth):
    admin_id, _, _ = setup_people(app)
    auth.login("admin@example.org")
    page = client.get(f"/admin/users/{admin_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{admin_id}",
        data={"csrf_token": csrf_token_from(page), "roles": [], "is_active": "y"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(User, admin_id).is_admin


def test_admin_manages_divisions_and_slugs_stay_unique(app, client, auth):
    setup_people(app)
    auth.login("admin@example.org")
    token = csrf_token_from(client.get("/admin/divisions/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "slug": "disability",
        "name_en": "Disability",
        "name_ko": "장애인",
        "is_active": "y",
    }
    assert client.post("/admin/divisions/new", data=data).status_code == 302
    again = client.post("/admin/divisions/new", data=data)
    assert again.status_code == 400
    assert "already exists" in again.get_data(as_text=True)
    bad = client.post("/admin/divisions/new", data={**data, "slug": "Not A Slug!"})
    assert bad.status_code == 400
    with app.app_context():
        slugs = db.session.scalars(select(Division.slug)).all()
        assert sorted(slugs) == ["disability", "elderly"]
    listing = client.get("/admin/divisions").get_data(as_text=True)
    assert "장애인" in listing


def test_audit_log_lists_acts_for_admins_only(app, client, auth):
    setup_people(app)
    auth.login("admin@example.org")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "user.register" in page
    auth.logout()
    auth.login("citizen@example.org")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_user_search_is_paginated(app, client, auth):
    setup_people(app)
    with app.app_context():
        for i in range(55):
            make_user(email=f"many{i}@example.org", commit=False)
        db.session.commit()
    auth.login("admin@example.org")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in first
    assert "many5@example.org" in client.get("/admin/users?q=many5").get_data(as_text=True)


def test_role_and_division_choices_follow_the_viewers_language(app, client, auth):
    with app.app_context():
        make_user(Role.ADMIN, email="admin-ko@example.org", language="ko")
        citizen = make_user(email="citizen@example.org")
        db.session.add(Division(slug="elderly", name_en="Elderly", name_ko="노인"))
        db.session.commit()
        citizen_id = citizen.id
    auth.login("admin-ko@example.org")
    page = client.get(f"/admin/users/{citizen_id}").get_data(as_text=True)
    for korean in ("진행자", "분과 코디네이터", "관리자", "노인"):
        assert korean in page, korean
    for english in ("Facilitator", "Division coordinator", "Administrator", "Elderly"):
        assert english not in page, english
    # The same form, the same process, in English for an English-speaking admin.
    auth.logout()
    with app.app_context():
        make_user(Role.ADMIN, email="admin-en@example.org", language="en")
    auth.login("admin-en@example.org")
    page = client.get(f"/admin/users/{citizen_id}").get_data(as_text=True)
    for english in ("Facilitator", "Division coordinator", "Administrator", "Elderly"):
        assert english in page, english
    assert "노인" not in page


def test_a_people_search_says_how_many_it_found_and_shows_no_empty_table(app, client, auth):
    setup_people(app)
    with app.app_context():
        make_user(Role.ADMIN, email="admin-ko@example.org", language="ko")
    auth.login("admin@example.org")
    found = client.get("/admin/users?q=citizen@").get_data(as_text=True)
    assert '<p id="people-found" role="status">1 person found.</p>' in found
    assert "citizen@example.org" in found
    nothing = client.get("/admin/users?q=zzzz").get_data(as_text=True)
    assert '<p id="people-found" role="status">0 people found.</p>' in nothing
    assert "<table" not in nothing  # no headers over an empty table
    auth.logout()
    auth.login("admin-ko@example.org")
    korean = client.get("/admin/users?q=zzzz").get_data(as_text=True)
    assert '<p id="people-found" role="status">0명을 찾았습니다.</p>' in korean
