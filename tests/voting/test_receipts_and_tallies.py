"""Published receipts recount the tally; breakdowns by category and division; no identities."""

import csv
import io
import json

from deliberation.accounts.models import MemberCategory, User
from deliberation.extensions import db
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot
from tests.factories import make_division, make_user
from tests.voting.support import close_now, make_ballot, make_crowd


def _close(ballot):
    close_now(ballot.id)
    db.session.refresh(ballot)


def _cast(ballot, ids, choice, tag):
    receipts = {}
    for uid in ids:
        result = services.cast_vote(
            ballot.id, db.session.get(User, uid), choice, f"client-{tag}-{uid}"
        )
        db.session.commit()
        receipts[uid] = result.receipt
    return receipts


def test_tally_by_category_and_division_with_turnout_of_each_groups_eligible(app_ctx):
    north, south = make_division(), make_division()
    citizens = make_crowd(8, division=north)
    experts = make_crowd(6, category=MemberCategory.EXPERT, division=south)
    make_crowd(2, category=MemberCategory.EXPERT)  # eligible, no division, do not vote
    welfare = make_crowd(5, category=MemberCategory.WELFARE_ORGANISATION)
    ballot = make_ballot()
    _cast(ballot, citizens[:6], "yes", "c")
    _cast(ballot, experts[:3], "no", "e")
    _cast(ballot, welfare, "abstain", "w")
    result = queries.tally(ballot)
    assert result["counts"] == {"yes": 6, "no": 3, "abstain": 5}
    eligible = result["eligible"]
    assert eligible == 21 + 2  # the crowd plus the item author and the facilitator
    by_category = {row["key"]: row for row in result["by_category"]}
    assert by_category["citizen"]["voted"] == 6
    assert by_category["citizen"]["counts"] == {"yes": 6}
    assert by_category["expert"] == {
        "key": "expert",
        "eligible": 8,
        "voted": 3,
        "turnout_percent": 37.5,
        "counts": None,  # fewer than five voters: choices hidden
        "paper": 0,  # how many of them voted on paper (turnout, not choices)
    }
    # five voters, but the total minus citizens and welfare organisations would be the three
    # experts' choices: the smallest category shown hides its choices too
    assert by_category["welfare_organisation"]["voted"] == 5
    assert by_category["welfare_organisation"]["counts"] is None
    by_division = {row["key"]: row for row in result["by_division"]}
    assert by_division[north.id]["eligible"] == 8
    assert by_division[north.id]["turnout_percent"] == 75.0
    assert by_division[north.id]["slug"] == north.slug
    assert by_division[south.id]["counts"] is None


def test_receipts_list_recounts_the_tally_and_holds_no_identities(app, client):
    with app.app_context():
        ballot = make_ballot()
        named = make_user(name="Identifiable Person", email="identifiable@example.org")
        ids = make_crowd(12)
        receipts = _cast(ballot, ids[:7], "yes", "y")
        receipts |= _cast(ballot, ids[7:], "no", "n")
        mine = services.cast_vote(ballot.id, named, "abstain", "named-client-1").receipt
        changed = services.cast_vote(ballot.id, named, "yes", "named-client-2").receipt
        db.session.commit()
        ballot_id = ballot.id
        assert client.get(f"/voting/{ballot_id}/receipts").status_code == 400  # not closed
        _close(ballot)
        assert queries.recount_from_receipts(ballot) == ballot.result["counts"]
        assert ballot.result["counts"] == {"yes": 8, "no": 5, "abstain": 0}

    page = client.get(f"/voting/{ballot_id}/receipts").get_data(as_text=True)
    assert "The recount matches the published tally." in page
    assert "Identifiable Person" not in page and "identifiable@example.org" not in page
    assert changed in page and mine not in page  # the replaced receipt is gone

    lookup = client.get(f"/voting/{ballot_id}/receipts?receipt={changed.lower()}").get_data(
        as_text=True
    )
    assert f"Receipt {changed} was counted as: Yes." in lookup
    stale = client.get(f"/voting/{ballot_id}/receipts?receipt={mine}").get_data(as_text=True)
    assert "is not in the list" in stale

    exported = client.get(f"/voting/{ballot_id}/receipts.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert set(rows[0]) == {"receipt", "choice", "channel"}
    assert len(rows) == 13
    assert [r["receipt"] for r in rows] == sorted(r["receipt"] for r in rows)
    recount = {}
    for row in rows:
        recount[row["choice"]] = recount.get(row["choice"], 0) + 1
    body = json.loads(client.get(f"/voting/{ballot_id}/receipts.json").get_data(as_text=True))
    assert {k: v for k, v in body["tally"].items() if v} == recount
    assert set(body["receipts"][0]) == {"receipt", "choice", "channel"}
    assert set(receipts.values()) | {changed} == {r["receipt"] for r in rows}


def test_ballot_page_shows_results_only_after_close_unless_live(app, client):
    with app.app_context():
        hidden = make_ballot()
        live = make_ballot(results_live=True)
        ids = make_crowd(5)
        _cast(hidden, ids, "yes", "h")
        _cast(live, ids, "no", "l")
        hidden_id, live_id = hidden.id, live.id
    page = client.get(f"/voting/{hidden_id}").get_data(as_text=True)
    assert "Votes by option" not in page
    assert 'id="turnout-voted">5<' in page
    live_page = client.get(f"/voting/{live_id}").get_data(as_text=True)
    assert "Votes by option so far" in live_page
    with app.app_context():
        _close(db.session.get(Ballot, hidden_id))
    closed = client.get(f"/voting/{hidden_id}").get_data(as_text=True)
    assert "Adopted" in closed and "By member category" in closed and "By division" in closed
    assert "Check the receipts and recount the tally" in closed


def test_receipts_page_paginates_long_lists(app, client):
    with app.app_context():
        ballot = make_ballot()
        _cast(ballot, make_crowd(120), "yes", "p")
        _close(ballot)
        ballot_id = ballot.id
    first = client.get(f"/voting/{ballot_id}/receipts").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = client.get(f"/voting/{ballot_id}/receipts?page=2").get_data(as_text=True)
    assert second.count("<code>") == 20


def test_the_receipt_lookup_refuses_text_that_is_not_a_receipt_code(app, client):
    """Junk is named as junk, in the page's language, and never reshaped into a code; a real
    code typed with or without dashes, in any case, is still found."""
    with app.app_context():
        ballot = make_ballot()
        receipt = _cast(ballot, make_crowd(1), "yes", "lookup").popitem()[1]
        _close(ballot)
        ballot_id = ballot.id
    url = f"/voting/{ballot_id}/receipts"
    for junk in ("<script>xxx", "hello", receipt + "X", "0000-1111-OOOO-IIII"):
        page = client.get(url, query_string={"receipt": junk}).get_data(as_text=True)
        assert "This is not a receipt code:" in page, junk
        assert "is not in the list" not in page and "was counted as" not in page
    page = client.get(url, query_string={"receipt": "<script>xxx"}).get_data(as_text=True)
    assert "SCRI-PTXX" not in page and "<script>xxx" not in page  # shown as typed, escaped
    assert "&lt;script&gt;xxx" in page
    korean = client.get(
        url, query_string={"receipt": "hello"}, headers={"Accept-Language": "ko"}
    ).get_data(as_text=True)
    assert "영수증 번호가 아닙니다: hello." in korean
    for typed in (receipt, receipt.lower(), receipt.replace("-", ""), f" {receipt.lower()} "):
        page = client.get(url, query_string={"receipt": typed}).get_data(as_text=True)
        assert f"Receipt {receipt} was counted as: Yes." in page, typed
