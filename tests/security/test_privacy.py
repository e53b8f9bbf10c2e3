"""Privacy: no page, export, API or notification, for anyone (admins included), shows a secret
to someone not entitled to it, or puts together two facts that must stay apart (a voter and
their choice). Private content stays out of search, exports and summaries."""

from tests.security import support
from tests.security.support import PERSONAS, fillings, persona_client, routes


def get_every_page(app, world):
    """Every GET route × every persona × every filling of its arguments, with a few query
    strings that search and export endpoints understand."""
    clients = {p: persona_client(app, world, p)[0] for p in PERSONAS}
    queries = [{}, {"q": "SECRET"}, {"format": "csv"}, {"format": "json"}]
    for rule in routes(app):
        if "GET" not in (rule.methods or set()) or rule.endpoint == "accounts.logout":
            continue
        for filled in fillings(rule, world):
            for persona, client in clients.items():
                for query in queries:
                    response = client.get(filled.url, query_string=query)
                    yield persona, f"{filled.url}?{query}", response


def test_no_response_leaks_a_secret_or_links_a_voter_to_a_choice(app, capsys):
    world = support.build_world(app)
    leaks: list[str] = []
    responses = 0
    for persona, where, response in get_every_page(app, world):
        responses += 1
        body = response.get_data(as_text=True)
        for marker, allowed in world.secrets.items():
            if persona not in allowed and marker in body:
                leaks.append(f"{persona} {where}: shows {marker!r}")
        for first, second in world.unlinkable:
            if first in body and second in body:
                leaks.append(f"{persona} {where}: shows {first!r} together with {second!r}")
    with capsys.disabled():
        print(
            f"\n[privacy] responses checked: {responses}; secrets: {len(world.secrets)}; "
            f"unlinkable pairs: {len(world.unlinkable)}; leaks: {len(leaks)}"
        )
    assert responses > 100
    assert leaks == [], "\n".join(leaks[:40])


def test_exports_are_never_served_as_html(app):
    """A CSV or JSON export holds user text: served as HTML (or sniffed as it), it would run."""
    world = support.build_world(app)
    client, _token = persona_client(app, world, "admin")
    checked = 0
    for rule in routes(app):
        if not rule.rule.endswith((".csv", ".json")) or "GET" not in (rule.methods or set()):
            continue
        for filled in fillings(rule, world):
            response = client.get(filled.url)
            if response.status_code != 200:
                continue
            checked += 1
            assert "html" not in response.content_type, (filled.url, response.content_type)
            assert response.headers.get("X-Content-Type-Options") == "nosniff", filled.url
    assert checked >= 1
