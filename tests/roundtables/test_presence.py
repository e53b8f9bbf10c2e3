"""Who is connected to a session, on one process (no Redis): each person once, at one table,
whether or not they sit at a table. Across processes: see
tests/production/test_roundtable_connected.py."""

from itertools import permutations

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables.events import connected_user_ids
from deliberation.roundtables.presence import LOBBY, merge, table_totals
from deliberation.roundtables.rooms import NAMESPACE
from tests.roundtables.helpers import build_session, emit, joined


def connected_page(client, sid: int) -> str:
    """The people page with its "connected" filter on, as its HTML."""
    return client.get(f"/roundtables/{sid}/people", query_string={"connected": "1"}).text


def test_a_person_seen_in_several_places_counts_once_at_one_table_in_any_order():
    places = [(7, LOBBY), (7, 12), (7, 5), (8, LOBBY), (9, 5)]
    for order in permutations(places):
        people = merge({}, order)
        assert people == {7: 5, 8: LOBBY, 9: 5}
        assert table_totals(people) == {5: 2}


def test_one_process_lists_everyone_connected_each_once(app, client, auth):
    with app.app_context():
        info = build_session(participants=10, facilitators=0)
        lead_email = db.session.get(User, info["lead_id"]).email
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    two_tabs, one_tab = info["people"][:2]
    phone, ack = joined(app, two_tabs, sid)
    laptop, _ = joined(app, two_tabs, sid)
    _, other = joined(app, one_tab, sid)
    tables = [ack["seat"]["table_id"], other["seat"]["table_id"]]
    with app.test_request_context():
        # The lead is connected (at no table) as much as the people at their tables.
        assert connected_user_ids(sid) == {info["lead_id"], two_tabs, one_tab}
    console = emit(lead, "console", {"session_id": sid})["console"]
    assert {t["id"]: t["connected"] for t in console["tables"] if t["connected"]} == {
        table: tables.count(table) for table in tables
    }
    assert console["counts"]["connected"] == 2
    auth.login(lead_email)
    assert "2 people found." in connected_page(client, sid)
    # One of two tabs closes: the person is still connected; the other closes too: gone.
    phone.disconnect(namespace=NAMESPACE)
    assert "2 people found." in connected_page(client, sid)
    laptop.disconnect(namespace=NAMESPACE)
    assert "1 person found." in connected_page(client, sid)
    with app.test_request_context():
        assert connected_user_ids(sid) == {info["lead_id"], one_tab}
