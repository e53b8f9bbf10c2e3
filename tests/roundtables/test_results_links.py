"""Sessions linked to agenda items, passing themes sent to the officials' queue, and the
roundtable results in an item's consensus summary (page, JSON, CSV, CLI) and results page."""

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import Role
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.core.errors import DomainError
from deliberation.extensions import db
from deliberation.proposals.models import Notification, Proposal
from deliberation.roundtables import adoption, results, sessions
from deliberation.roundtables.models import (
    Participant,
    RoundtableSession,
    Theme,
    ThemeDestination,
)
from tests.agendas.helpers import make_item
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.roundtables.helpers import session_of
from tests.roundtables.results_helpers import run_session

# --- linking a session to agenda items -----------------------------------------------------


def test_the_create_form_links_open_items_and_refuses_others(app, client, auth):
    with app.app_context():
        author = make_user()
        first, second = make_division(), make_division()
        hidden = make_division()
        hidden.is_active = False
        open_item = make_item(author, first, title="Parks for all")
        draft = make_item(author, second, title="Night buses", state=ItemState.DRAFT)
        withdrawn = make_item(author, first, title="Gone", state=ItemState.WITHDRAWN)
        in_hidden = make_item(author, hidden, title="Hidden division item")
        ids = {k: v.id for k, v in (("open", open_item), ("draft", draft),
                                    ("withdrawn", withdrawn), ("hidden", in_hidden))}  # fmt: skip
        division_id = first.id
        make_user(Role.FACILITATOR, email="lead@example.org")
    auth.login("lead@example.org")
    page = client.get("/roundtables/new")
    assert page.status_code == 200
    # open items of every active division, grouped; closed ones and hidden divisions absent
    assert "Parks for all" in page.text and "Night buses" in page.text
    assert "Gone" not in page.text and "Hidden division item" not in page.text
    assert f'id="agenda-item-{ids["open"]}"' in page.text and "<details" in page.text
    token = csrf_token_from(page.text)

    def create(title: str, item_ids: list, destination: str = "agenda_item"):
        return client.post("/roundtables/new", data={
            "csrf_token": token, "title": title, "division_id": division_id, "capacity": 100,
            "table_size": 8, "ideas_per_round": 3, "threshold_percent": 60,
            "theme_destination": destination, "agenda_item_ids": item_ids})  # fmt: skip

    for bad in ([ids["open"], 99999], [ids["withdrawn"]], [ids["hidden"]], ["x"]):
        refused = create("Refused", bad)
        assert refused.status_code == 400, bad
        assert "error-summary" in refused.text and 'href="#agenda_item_ids"' in refused.text
    assert create("Refused", [], destination="nowhere").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(RoundtableSession.id))) == 0

    made = create("Linked", [ids["open"], ids["draft"]], destination="proposal")
    assert made.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(RoundtableSession))
        assert [i.id for i in session.agenda_items] == [ids["open"], ids["draft"]]
        assert session.theme_destination == ThemeDestination.PROPOSAL
        sid = session.id
    detail = client.get(f"/roundtables/{sid}").text
    assert (
        f'href="/agendas/{ids["open"]}"' in detail and f'href="/agendas/{ids["draft"]}"' in detail
    )
    assert "Straight to the officials&#39; queue as a proposal" in detail
    item_page = client.get(f"/agendas/{ids['open']}").text
    assert f'href="/roundtables/{sid}"' in item_page and "Linked" in item_page
    assert f"/roundtables/{sid}" not in client.get(f"/agendas/{ids['withdrawn']}").text


def test_the_service_refuses_too_many_or_unknown_items(app_ctx):
    author = make_user()
    items = [make_item(author, title=f"Item {n}").id for n in range(sessions.MAX_LINKED_ITEMS + 1)]
    with pytest.raises(DomainError) as too_many:
        sessions.linkable_agenda_items(items)
    assert too_many.value.code == "too_many_items"
    with pytest.raises(DomainError) as unknown:
        sessions.linkable_agenda_items([items[0], 424242])
    assert unknown.value.code == "bad_agenda_item"
    assert [i.id for i in sessions.linkable_agenda_items([items[1], items[0], items[1]])] == [
        items[1], items[0]]  # fmt: skip


# --- passing themes to the officials' queue ------------------------------------------------


def test_passing_theme_goes_to_the_officials_queue_with_origins(app, client):
    with app.app_context():
        run = run_session(destination=ThemeDestination.PROPOSAL, threshold=50, people=24)
        adoption = run["adoption"]
        assert adoption.items == [] and len(adoption.proposals) == 1
        proposal = adoption.proposals[0]
        parks = db.session.get(Theme, run["parks"])
        buses = db.session.get(Theme, run["buses"])
        # parks: 24/24 agree (100 %), buses: 9/24 (37.5 %) and 8/23: under 50 %, stays a theme
        assert parks.proposal_id == proposal.id and parks.agenda_item_id is None
        assert buses.proposal_id is None and buses.agenda_item_id is None
        assert db.session.scalar(select(func.count(AgendaItem.id))) == 0
        assert (proposal.source_kind, proposal.source_ref) == ("roundtable-theme", str(parks.id))
        assert proposal.item_id is None and proposal.division_id == run["division_id"]
        assert "Support in the room poll: 100%." in proposal.summary
        tables = ", ".join(str(n) for n in run["park_tables"])
        assert f"Tables: {tables}." in proposal.summary
        snapshot = proposal.snapshot
        assert snapshot["theme"]["support_percent"] == 100.0
        assert snapshot["theme"]["tables"] == run["park_tables"]
        assert len(snapshot["theme"]["ideas"]) == 2
        agree_poll = next(p for p in snapshot["polls"] if p["kind"] == "agree")
        assert agree_poll["total"] == 24 and agree_poll["counts"] == {
            "agree": 24, "disagree": 0, "pass": 0}  # fmt: skip
        assert agree_poll["by_category"]["citizen"] == {"agree": 6, "disagree": 0, "pass": 0}
        choose_poll = next(p for p in snapshot["polls"] if p["kind"] == "choose_one")
        # persons 0-22 vote, n % 8 < 5 chose parks: citizen 6, the other categories 3 each
        assert choose_poll["total"] == 23 and choose_poll["counts"] == 15
        assert choose_poll["by_category"] == {
            "citizen": 6, "welfare_organisation": 3, "expert": 3, "civil_servant": 3}  # fmt: skip
        assert choose_poll["small_groups"] == {"minimum": 5, "combined": [], "withheld": False}
        assert snapshot["roundtable"]["source"] == f"/roundtables/{run['session_id']}/results"
        # everyone seated at the theme's tables follows it (people and table facilitators);
        # nobody from the other tables
        theme_tables = select(Participant.table_id).where(
            Participant.session_id == run["session_id"],
            Participant.user_id.in_(run["facilitators"]),
        )
        seated = select(Participant.user_id).where(
            Participant.session_id == run["session_id"], Participant.table_id.in_(theme_tables)
        )
        at_tables = set(db.session.scalars(seated))
        notified = set(db.session.scalars(select(Notification.user_id)))
        assert notified == at_tables and 10 <= len(at_tables) < 26
        proposal_id = proposal.id
    queue = client.get("/proposals/").text
    assert f"/proposals/{proposal_id}" in queue and "Roundtable theme" in queue
    page = client.get(f"/proposals/{proposal_id}").text
    assert "Green parks" in page and f"Ideas from tables {tables}:" in page
    assert "Idea from table 0" in page and f"/roundtables/{run['session_id']}/results" in page
    assert "had 100.0% support in the room poll" in page
    results_page = client.get(f"/roundtables/{run['session_id']}/results").text
    assert f'href="/proposals/{proposal_id}"' in results_page


def test_themes_under_the_threshold_stay_themes_and_nothing_is_queued(app, client):
    with app.app_context():
        # parks 4/8 agree (50 %), buses 3/8 (37.5 %), no choose-one poll: both under 60 %
        run = run_session(
            destination=ThemeDestination.PROPOSAL, threshold=60, park_agrees=4, choose_one=False
        )
        assert run["adoption"].proposals == [] and run["adoption"].items == []
        session = session_of(run["session_id"])
        assert results.theme_support(session) == {run["parks"]: 50.0, run["buses"]: 37.5}
        assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert "No proposals match." in client.get("/proposals/").text
    with app.app_context():
        # a threshold met exactly passes; adopting again adds nothing
        session = session_of(run["session_id"])
        session.threshold_percent = 50
        first = adoption.adopt_passing_themes(session)
        assert [p.title for p in first.proposals] == ["Green parks"]
        assert adoption.adopt_passing_themes(session).proposals == []
        db.session.commit()
        assert db.session.scalar(select(func.count(Proposal.id))) == 1
