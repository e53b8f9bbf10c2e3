"""Privacy: no page, export, API or notification, for anyone (admins included), shows a secret
to someone not entitled to it, or puts together two facts that must stay apart (a voter and
their choice). Private content stays out of search, exports and summaries."""

import csv
import io
import re

import pytest

from deliberation.accounts.models import MemberCategory
from deliberation.roundtables.models import ThemeDestination
from tests.agendas.helpers import make_item
from tests.factories import make_user
from tests.roundtables.results_helpers import run_session
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


@pytest.mark.slow
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


#: Person 0 of the room poll below is the only expert, persons 1-3 the only civil servants.
#: Together four: under the minimum, so the next smallest category (six welfare organisations)
#: must join them; only citizens (ten) may have a column of their own.
LONE_VOTERS = (
    [MemberCategory.EXPERT]
    + [MemberCategory.CIVIL_SERVANT] * 3
    + [MemberCategory.CITIZEN] * 10
    + [MemberCategory.WELFARE_ORGANISATION] * 6
)
SAFE_BREAKDOWN = {"citizen", "other"}
UNSAFE_HEADERS = [
    f'<th scope="{scope}">{label}</th>'
    for scope in ("col", "row")
    for label in ("Expert", "Civil servant", "Welfare organisation")
]


def small_category_breakdowns(response, question: str) -> list[str]:
    """Where a response that shows the poll breaks its votes down other than citizens and
    "other categories" (so that the four could be told apart, or subtracted)."""
    body = response.get_data(as_text=True)
    if question not in body:
        return []
    found = []
    if response.mimetype == "application/json":
        stack = [response.get_json()]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                by_category = node.get("by_category")
                if isinstance(by_category, dict) and set(by_category) != SAFE_BREAKDOWN:
                    found.append(f"by_category {sorted(by_category)}")
                stack += node.values()
            elif isinstance(node, list):
                stack += node
    elif response.mimetype == "text/csv":
        rows = [row for row in csv.DictReader(io.StringIO(body)) if row["record"] == "poll"]
        categories = {row["member_category"] for row in rows} - {"all"}
        if categories != SAFE_BREAKDOWN:
            found.append(f"CSV rows for {sorted(categories)}")
    else:
        found += [f"HTML {header}" for header in UNSAFE_HEADERS if header in body]
    return found


def test_no_response_breaks_out_a_member_category_of_fewer_than_five_voters(app, capsys):
    """One expert and three civil servants voted in a room poll: no page, export or API shows
    their category's counts (directly, or as the total minus the categories shown), to anyone.
    Every GET route taking an agenda item, a session or a proposal (or nothing) is tried with
    the poll's session, the item it was about and the proposal its passing theme became."""
    world = support.build_world(app)
    with app.app_context():
        item_id = make_item(make_user(), title="Greener streets").id
        run = run_session(
            item_ids=(item_id,),
            people=len(LONE_VOTERS),
            categories=LONE_VOTERS,
            destination=ThemeDestination.PROPOSAL,
        )
        [proposal] = run["adoption"].proposals
        objects = {"item_id": item_id, "session_id": run["session_id"], "proposal_id": proposal.id}
    question = "Which one first?"
    clients = {p: persona_client(app, world, p)[0] for p in PERSONAS}
    leaks: list[str] = []
    tried = showing = 0
    for rule in routes(app):
        args = set(rule.arguments)
        if "GET" not in (rule.methods or set()) or not args <= set(objects):
            continue
        if rule.endpoint == "accounts.logout":
            continue
        url = rule.rule
        for name in args:
            url = re.sub(r"<(?:[^:>]+:)?" + name + ">", str(objects[name]), url)
        for persona, client in clients.items():
            response = client.get(url)
            tried += 1
            showing += question in response.get_data(as_text=True)
            leaks += [f"{persona} {url}: {leak}"
                      for leak in small_category_breakdowns(response, question)]  # fmt: skip
    # the results page, the summary (page, print, JSON, CSV) and the proposal show the poll
    assert showing >= 6 * 6, showing
    with capsys.disabled():
        print(f"\n[privacy] room poll with a lone expert: {tried} responses, {showing} show it, "
              f"{len(leaks)} break out a category under five")  # fmt: skip
    assert leaks == [], "\n".join(leaks[:40])
