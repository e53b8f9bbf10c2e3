"""Authorization matrix: every route in app.url_map × every persona × foreign objects.

Oracles, all generated:
- a route decorated with ``role_required`` refuses every persona lacking the role (403, or the
  login page for anonymous), for every method, on every object;
- anonymous visitors reach only the public endpoints; everything else sends them to log in;
- a GET on an object the persona may not read is refused (403/404 or login), and no response
  to anyone ever contains a secret marker they may not see (emails, private bodies...);
- a state-changing request on objects the persona may not change changes nothing in the
  database, even when replaying the exact form an entitled person would send.
"""

import re

from tests.security import support
from tests.security.support import (
    PERSONAS,
    PUBLIC_ENDPOINTS,
    REFUSAL_MAY_WRITE,
    STATE_CHANGING,
    changed_tables,
    db_digest,
    fillings,
    is_login_redirect,
    persona_client,
    persona_roles,
    required_roles,
    routes,
)

REFUSED = {401, 403, 404, 405}
INPUT_RE = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.I)
ATTR_RE = re.compile(r'(\w[\w-]*)="([^"]*)"')
OPTION_RE = re.compile(r'<option[^>]*value="([^"]*)"', re.I)


def harvested_form(html: str) -> dict[str, str]:
    """The fields (and first choices) of the forms on a page, as an entitled person sees them."""
    data: dict[str, str] = {}
    for match in INPUT_RE.finditer(html):
        attrs = dict(ATTR_RE.findall(match.group(2)))
        name = attrs.get("name")
        if not name or name == "csrf_token":
            continue
        if match.group(1).lower() == "select":
            rest = html[match.end() : html.find("</select>", match.end())]
            options = OPTION_RE.findall(rest)
            data.setdefault(name, options[0] if options else "")
        elif attrs.get("type") == "checkbox":
            data.setdefault(name, attrs.get("value", "y"))
        else:
            data.setdefault(name, attrs.get("value") or "Replayed by an attacker 12345")
    return data


def admin_form_for(admin_client, url: str) -> dict[str, str]:
    response = admin_client.get(url)
    if response.status_code != 200 or "html" not in response.content_type:
        return {}
    return harvested_form(response.get_data(as_text=True))


def test_authorization_matrix(app, capsys):
    world = support.build_world(app)
    clients = {p: persona_client(app, world, p) for p in PERSONAS}
    admin_client = clients["admin"][0]
    tried = 0
    failures: list[str] = []
    leaks: list[str] = []

    for rule in routes(app):
        needed = required_roles(app, rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for filled in fillings(rule, world):
            replay = (admin_form_for(admin_client, filled.url) if "GET" in methods else {}) | {
                "next": "/"
            }
            for persona in PERSONAS:
                if persona == "admin":
                    continue
                client, token = clients[persona]
                lacks_role = bool(needed) and not (persona_roles(persona) & needed)
                anonymous_blocked = persona == "anonymous" and rule.endpoint not in PUBLIC_ENDPOINTS
                for method in methods:
                    tried += 1
                    where = f"{persona} {method} {filled.url} [{filled.label}]"
                    writes = method in STATE_CHANGING
                    with app.app_context():
                        before = db_digest(exclude=REFUSAL_MAY_WRITE) if writes else None
                    response = client.open(
                        filled.url, method=method, data={**replay, "csrf_token": token}
                    )
                    body = response.get_data(as_text=True)
                    status = response.status_code
                    if status >= 500:
                        failures.append(f"{where}: server error {status}")
                    if lacks_role or anonymous_blocked:
                        ok = is_login_redirect(response) if persona == "anonymous" else False
                        ok = ok or status in REFUSED
                        if not ok:
                            failures.append(f"{where}: expected refusal, got {status}")
                    elif (
                        method == "GET"
                        and filled.targets
                        and not filled.readable_by(persona, rule.endpoint.rsplit(".", 1)[-1])
                    ):
                        if status not in REFUSED and not is_login_redirect(response):
                            failures.append(f"{where}: foreign object readable ({status})")
                    must_not_write = (
                        lacks_role
                        or (
                            filled.targets
                            and not filled.writable_by(persona, rule.endpoint.rsplit(".", 1)[-1])
                        )
                        or (
                            persona == "anonymous" and rule.endpoint not in support.ANONYMOUS_WRITES
                        )
                    )
                    if writes and must_not_write:
                        with app.app_context():
                            after = db_digest(exclude=REFUSAL_MAY_WRITE)
                        if changed := changed_tables(before, after):
                            failures.append(f"{where}: unexpected write to {changed} ({status})")
                    for marker, allowed in world.secrets.items():
                        if persona not in allowed and marker in body:
                            leaks.append(f"{where}: leaks {marker!r}")
                    if (
                        persona != "anonymous"
                        and is_login_redirect(response)
                        and "next=" in response.headers.get("Location", "")
                    ):
                        # The persona's session must survive every probe except logout itself.
                        failures.append(f"{where}: a signed-in persona was sent to log in")
                    if rule.endpoint == "accounts.logout" and persona != "anonymous":
                        clients[persona] = persona_client(app, world, persona)
    with capsys.disabled():
        print(
            f"\n[authz] routes×roles×objects×methods tried: {tried}; "
            f"unexpected successes: {len(failures)}; leaks: {len(leaks)}"
        )
    assert tried > 50
    assert failures == [], "\n".join(failures[:50])
    assert leaks == [], "\n".join(leaks[:50])


def test_matrix_covers_every_route_and_knows_every_argument(app):
    """A route whose arguments the world cannot fill is still probed with fallbacks; but a
    feature should register its objects (support.WORLD_EXTENSIONS) so foreign ones are tried."""
    world = support.build_world(app)
    unknown = sorted(
        {
            name
            for rule in routes(app)
            for _converter, name in support.ARG_RE.findall(rule.rule)
            if name not in world.ids
        }
    )
    assert unknown == [], f"URL arguments without foreign objects in the world: {unknown}"
