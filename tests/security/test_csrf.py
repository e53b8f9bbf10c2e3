"""CSRF walk: every state-changing route in app.url_map, without a token or with a forged one,
is refused with 400 and changes nothing, for the most powerful persona on real objects."""

from tests.security import support
from tests.security.support import (
    STATE_CHANGING,
    changed_tables,
    db_digest,
    fillings,
    persona_client,
    routes,
)


def test_every_state_changing_route_refuses_a_missing_or_forged_token(app, capsys):
    world = support.build_world(app)
    tried = 0
    failures = []
    for persona in ("anonymous", "admin"):
        client, token = persona_client(app, world, persona)
        for rule in routes(app):
            for method in sorted((rule.methods or set()) & STATE_CHANGING):
                for filled in fillings(rule, world):
                    for label, data in (
                        ("no token", {}),
                        ("forged token", {"csrf_token": token[:-4] + "AAAA"}),
                        ("token in wrong field", {"csrf": token}),
                    ):
                        tried += 1
                        with app.app_context():
                            before = db_digest()
                        response = client.open(
                            filled.url,
                            method=method,
                            data={**data, "language": "ko", "display_name": "csrf"},
                            headers={"Origin": "http://evil.example.org"},
                        )
                        with app.app_context():
                            after = db_digest()
                        where = f"{persona} {method} {filled.url} ({label})"
                        if response.status_code != 400:
                            failures.append(f"{where}: {response.status_code}, expected 400")
                        if changed := changed_tables(before, after):
                            failures.append(f"{where}: wrote to {changed}")
        # The persona is still who they were: a refused CSRF request logs nobody out.
        if persona == "admin":
            assert client.get("/admin/users").status_code == 200
    with capsys.disabled():
        print(
            f"\n[csrf] state-changing requests without a valid token: {tried}; accepted: "
            f"{len(failures)}"
        )
    assert tried >= 10
    assert failures == [], "\n".join(failures[:40])


def test_json_requests_do_not_bypass_csrf(app):
    world = support.build_world(app)
    client, _token = persona_client(app, world, "admin")
    for rule in routes(app):
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            for filled in fillings(rule, world)[:1]:
                response = client.open(filled.url, method=method, json={"display_name": "x"})
                assert response.status_code == 400, (method, filled.url, response.status_code)
