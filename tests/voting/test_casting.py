"""Casting votes over HTTP and sockets through one service: receipts, retries, bad input."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import Role
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot, Vote, VoteCast
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.voting.support import make_ballot

RECEIPT_RE = re.compile(r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$")


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Vote)),
        db.session.scalar(select(func.count()).select_from(VoteCast)),
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "vote.cast")
        ),
    )


def test_cast_returns_a_receipt_and_a_retry_changes_nothing(app_ctx):
    ballot = make_ballot()
    voter = make_user()
    first = services.cast_vote(ballot.id, voter, "yes", "client-aaaa-1")
    db.session.commit()
    assert first.status == "cast"
    assert RECEIPT_RE.match(first.receipt)
    again = services.cast_vote(ballot.id, voter, "yes", "client-aaaa-1")
    db.session.commit()
    assert again.receipt == first.receipt and again.status == "replayed"
    assert _counts() == (1, 1, 1)


def test_changing_a_vote_replaces_the_receipt_in_place(app_ctx):
    ballot = make_ballot()
    voter = make_user()
    first = services.cast_vote(ballot.id, voter, "yes", "client-aaaa-1")
    db.session.commit()
    second = services.cast_vote(ballot.id, voter, "no", "client-bbbb-2")
    db.session.commit()
    assert second.status == "changed" and second.receipt != first.receipt
    vote = db.session.scalar(select(Vote))
    assert (vote.choice, vote.receipt) == ("no", second.receipt)
    assert queries.vote_counts(ballot.id) == {"no": 1}
    # A late retry of the first request answers as before and does not revert the vote.
    late = services.cast_vote(ballot.id, voter, "yes", "client-aaaa-1")
    db.session.commit()
    assert late.status == "replayed" and late.receipt == first.receipt
    assert queries.vote_counts(ballot.id) == {"no": 1}


def test_voting_twice_for_the_same_option_with_another_client_id_changes_nothing(app_ctx):
    ballot = make_ballot()
    voter = make_user()
    first = services.cast_vote(ballot.id, voter, "yes", "client-aaaa-1")
    db.session.commit()
    second = services.cast_vote(ballot.id, voter, "yes", "client-cccc-3")
    db.session.commit()
    assert second.status == "unchanged" and second.receipt == first.receipt
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 1


def _assert_refused(ballot_id, voter, choice, client_id, code):
    before = _counts()
    with pytest.raises(DomainError) as info:
        services.cast_vote(ballot_id, voter, choice, client_id)
    db.session.rollback()
    assert info.value.code == code
    assert _counts() == before


def test_bad_votes_are_refused_and_change_nothing(app_ctx):
    now = utcnow()
    voter = make_user()
    later = make_ballot(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(hours=2))
    _assert_refused(later.id, voter, "yes", "client-early-1", "not_open")

    ballot = make_ballot()
    _assert_refused(ballot.id, voter, "maybe", "client-unknown-1", "unknown_option")
    _assert_refused(ballot.id, voter, "yes", "short", "bad_client_id")
    _assert_refused(999_999, voter, "yes", "client-nothing-1", "not_found")

    restricted = make_ballot(division_ids=[make_division().id])
    _assert_refused(restricted.id, voter, "yes", "client-outsider-1", "not_eligible")

    inactive = make_user()
    inactive.is_active_account = False
    db.session.commit()
    _assert_refused(ballot.id, inactive, "yes", "client-inactive-1", "not_eligible")

    services.cast_vote(ballot.id, voter, "yes", "client-used-once")
    db.session.commit()
    other = make_ballot()
    _assert_refused(other.id, voter, "yes", "client-used-once", "client_id_reused")

    db.session.execute(
        db.update(Ballot).where(Ballot.id == ballot.id).values(closes_at=now - timedelta(seconds=1))
    )
    db.session.commit()
    _assert_refused(ballot.id, voter, "no", "client-late-1", "closed")
    # ...but a retry of the vote made before the close still gets its answer.
    assert services.cast_vote(ballot.id, voter, "yes", "client-used-once").status == "replayed"


def test_a_vote_carries_no_timestamp():
    assert not {c.name for c in Vote.__table__.columns} & {"created_at", "updated_at", "cast_at"}
    assert {c.name for c in VoteCast.__table__.columns}.isdisjoint({"choice", "created_at"})


def _login(client, auth, email):
    response = auth.login(email)
    assert response.status_code == 302


def test_http_vote_shows_the_receipt_and_a_resubmit_is_harmless(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="voter@example.org")
    _login(client, auth, "voter@example.org")
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert "Cast my vote" in page
    token = csrf_token_from(page)
    client_id = re.search(r'name="client_id" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "choice": "yes", "client_id": client_id}
    response = client.post(f"/voting/{ballot_id}/vote", data=form, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Your vote was recorded." in body
    receipt = re.search(r'id="my-receipt">([A-Z0-9-]+)<', body).group(1)
    again = client.post(f"/voting/{ballot_id}/vote", data=form, follow_redirects=True)
    assert "This vote was already recorded." in again.get_data(as_text=True)
    assert receipt in again.get_data(as_text=True)
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {"yes": 1}


def test_http_bad_votes_get_clear_messages(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="voter@example.org")
    _login(client, auth, "voter@example.org")
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    token = csrf_token_from(page)
    bad = client.post(
        f"/voting/{ballot_id}/vote",
        data={"csrf_token": token, "choice": "maybe", "client_id": "client-http-1"},
    )
    assert bad.status_code == 400
    assert "That is not one of the ballot&#39;s options." in bad.get_data(as_text=True)
    missing = client.post(
        f"/voting/{ballot_id}/vote", data={"csrf_token": token, "client_id": "client-http-2"}
    )
    assert missing.status_code == 400
    # One clear message, not a second generic one ("Your vote: This field is required.").
    said = missing.get_data(as_text=True)
    assert said.count("Please choose an option.") == 1
    assert "This field is required" not in said and "Please check the form" not in said
    no_csrf = client.post(
        f"/voting/{ballot_id}/vote", data={"choice": "yes", "client_id": "client-http-3"}
    )
    assert no_csrf.status_code == 400
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {}


def test_anonymous_visitors_must_log_in_to_vote(app, client):
    with app.app_context():
        ballot_id = make_ballot().id
    assert "Log in to vote." in client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    response = client.post(f"/voting/{ballot_id}/vote", data={"choice": "yes"})
    assert response.status_code in (302, 400)
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {}


def test_socket_cast_is_acknowledged_with_the_receipt_and_is_idempotent(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="voter@example.org")
    _login(client, auth, "voter@example.org")
    sock = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    assert sock.is_connected("/voting")
    joined = sock.emit("join_ballot", {"ballot_id": ballot_id}, namespace="/voting", callback=True)
    assert joined["ok"] and joined["turnout"]["voted"] == 0 and joined["my_receipt"] is None
    payload = {"ballot_id": ballot_id, "choice": "no", "client_id": "socket-client-1"}
    ack = sock.emit("cast", payload, namespace="/voting", callback=True)
    assert ack["ok"] and ack["status"] == "cast" and RECEIPT_RE.match(ack["receipt"])
    again = sock.emit("cast", payload, namespace="/voting", callback=True)
    assert again == {**ack, "status": "replayed"}
    bad = sock.emit(
        "cast",
        {"ballot_id": ballot_id, "choice": "perhaps", "client_id": "socket-client-2"},
        namespace="/voting",
        callback=True,
    )
    assert bad["ok"] is False and bad["error"] == "unknown_option"
    malformed = sock.emit("cast", ["not", "an", "object"], namespace="/voting", callback=True)
    assert malformed["error"] == "bad_payload"
    snapshot = sock.emit("snapshot", {"ballot_id": ballot_id}, namespace="/voting", callback=True)
    assert snapshot["my_receipt"] == ack["receipt"]
    assert snapshot["turnout"]["voted"] == 1
    sock.disconnect(namespace="/voting")
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {"no": 1}


def test_anonymous_sockets_are_refused(app, client):
    sock = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    assert not sock.is_connected("/voting")


def test_facilitator_opens_a_ballot_through_the_form(app, client, auth):
    from tests.voting.support import make_item

    with app.app_context():
        item_id = make_item(title="Night buses").id
        make_user(Role.FACILITATOR, email="fac@example.org")
        make_user(email="citizen@example.org")
    _login(client, auth, "citizen@example.org")
    assert client.get("/voting/new").status_code == 403
    auth.logout()
    _login(client, auth, "fac@example.org")
    page = client.get(f"/voting/new?item_id={item_id}").get_data(as_text=True)
    assert "Night buses" in page
    now = utcnow()
    data = {
        "csrf_token": csrf_token_from(page),
        "item_id": str(item_id),
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "custom_options": "",
        "quorum_percent": "10",
        "threshold_percent": "50",
    }
    bad = client.post("/voting/new", data=data)
    assert bad.status_code == 400
    assert "The ballot must close after it opens." in bad.get_data(as_text=True)
    data["closes_at"] = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    good = client.post("/voting/new", data=data)
    assert good.status_code == 302
    with app.app_context():
        ballot = db.session.scalar(select(Ballot))
        assert ballot.item_id == item_id and ballot.quorum_percent == 10


def test_the_vote_rate_limit_is_one_budget_for_the_form_and_the_socket(app, client, auth):
    """The limit lives in cast_vote: votes over HTTP and over the socket draw on one budget."""
    app.config["VOTE_LIMIT"] = "3/minute"
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="voter@example.org")
    _login(client, auth, "voter@example.org")
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token_from(page), "choice": "yes", "client_id": "http-client-1"}
    assert client.post(f"/voting/{ballot_id}/vote", data=form).status_code == 302
    sock = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    acks = [
        sock.emit(
            "cast",
            {"ballot_id": ballot_id, "choice": choice, "client_id": f"socket-client-{n}"},
            namespace="/voting",
            callback=True,
        )
        for n, choice in enumerate(["no", "abstain", "yes"])
    ]
    assert [ack["ok"] for ack in acks] == [True, True, False]
    assert acks[2]["error"] == "rate_limited"
    form["client_id"] = "http-client-2"
    refused = client.post(f"/voting/{ballot_id}/vote", data=form, follow_redirects=True)
    assert refused.status_code == 429
    assert "too often" in refused.get_data(as_text=True)
    sock.disconnect(namespace="/voting")
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {"abstain": 1}


def test_the_ballot_form_asks_the_browser_to_require_a_choice(app, client, auth):
    """Every radio of the group is required (the browser stops an empty vote before it is
    sent) and the form lets the browser check it (no novalidate)."""
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="voter@example.org")
    _login(client, auth, "voter@example.org")
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    start = re.search(r"<form[^>]*vote-form[^>]*>", page)
    assert start and "novalidate" not in start.group(0)
    form = page[start.end() : page.index("</form>", start.end())]
    radios = re.findall(r'<input[^>]*type="radio"[^>]*>', form)
    assert len(radios) == 3 and all(" required" in radio for radio in radios)
