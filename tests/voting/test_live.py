"""Live turnout: coalesced broadcasts at a bounded rate, with the final count always sent."""

import time

from deliberation.accounts.models import User
from deliberation.extensions import db, socketio
from deliberation.voting import services
from tests.factories import make_user
from tests.voting.support import make_ballot, make_crowd


def test_watchers_get_coalesced_turnout_not_one_event_per_vote(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(email="watcher@example.org")
        voter_ids = make_crowd(60)
    auth.login("watcher@example.org")
    watcher = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    ack = watcher.emit("join_ballot", {"ballot_id": ballot_id}, namespace="/voting", callback=True)
    assert ack["ok"] and ack["turnout"]["voted"] == 0 and ack["turnout"]["counts"] is None
    first_seq = ack["turnout"]["seq"]
    with app.app_context():
        for uid in voter_ids:
            services.cast_vote(ballot_id, db.session.get(User, uid), "yes", f"live-vote-{uid}")
            db.session.commit()
    deadline = time.monotonic() + 3
    events = []
    while time.monotonic() < deadline:
        events += [e for e in watcher.get_received("/voting") if e["name"] == "turnout"]
        if events and events[-1]["args"][0]["voted"] == 60:
            break
        time.sleep(0.05)
    payloads = [e["args"][0] for e in events]
    assert payloads and payloads[-1]["voted"] == 60
    assert len(payloads) < 60 / 2  # coalesced, never one per vote
    assert payloads[-1]["counts"] is None  # results are not live on this ballot
    seqs = [p["seq"] for p in payloads]
    assert seqs == sorted(seqs) and seqs[0] > first_seq
    watcher.disconnect(namespace="/voting")


def test_closing_is_broadcast_to_watchers(app, client, auth):
    with app.app_context():
        ballot = make_ballot()
        ballot_id = ballot.id
        make_user(email="watcher@example.org")
    auth.login("watcher@example.org")
    watcher = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    watcher.emit("join_ballot", {"ballot_id": ballot_id}, namespace="/voting", callback=True)
    with app.app_context():
        services.close_ballot(db.session.get(type(ballot), ballot_id))
        assert [e for e in watcher.get_received("/voting") if e["name"] == "closed"] == []
        db.session.commit()
    closed = [e for e in watcher.get_received("/voting") if e["name"] == "closed"]
    assert closed and closed[0]["args"][0]["ballot_id"] == ballot_id


def test_no_watchers_no_counting(app, monkeypatch):
    from deliberation.voting import live

    calls = []
    monkeypatch.setattr(live.queries, "turnout", lambda ballot: calls.append(ballot) or {})
    with app.app_context():
        ballot_id = make_ballot().id
    live._broadcast_turnout(app, ballot_id)
    assert calls == []
