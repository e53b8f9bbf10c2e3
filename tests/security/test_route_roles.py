"""Route × role: walk app.url_map; no citizen reaches a page that needs another role."""

import re

import pytest

from deliberation.accounts.models import Role
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user


def protected_endpoints(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "required_roles", None)
        if roles:
            yield rule, roles


def fill(rule) -> str:
    """Turn a rule into a concrete URL, using 1 for every argument (objects exist or 404)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)


@pytest.mark.parametrize(
    "person",
    ["anonymous", "citizen", "facilitator", "official"],
)
def test_no_role_reaches_a_page_above_it(app, client, auth, person):
    with app.app_context():
        make_division("d1")
        make_user(Role.ADMIN, email="admin@example.org")
        roles = {"citizen": (), "facilitator": (Role.FACILITATOR,), "official": (Role.OFFICIAL,)}
        if person != "anonymous":
            make_user(*roles[person], email=f"{person}@example.org")
    if person != "anonymous":
        auth.login(f"{person}@example.org")
        token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    else:
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
    held = {
        "anonymous": set(),
        "citizen": {Role.CITIZEN},
        "facilitator": {Role.CITIZEN, Role.FACILITATOR},
        "official": {Role.CITIZEN, Role.OFFICIAL},
    }[person]
    checked = 0
    for rule, roles in protected_endpoints(app):
        if held & roles:
            continue
        url = fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            allowed = {302} if person == "anonymous" else {403}
            if person == "anonymous":
                assert "/login" in response.headers.get("Location", ""), (url, method)
            assert response.status_code in allowed, (person, method, url, response.status_code)
            checked += 1
    assert checked > 0
    assert any(rule.endpoint.startswith("admin.") for rule, _ in protected_endpoints(app))
