"""Live room polls over real Socket.IO clients: exact tallies under concurrency, duplicates
refused, changes, coalesced broadcasts, reconnect catch-up, results after close."""

import threading
import time

from sqlalchemy import func, select

from deliberation.agendas.models import AgendaItem
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.roundtables import tallies
from deliberation.roundtables.models import PollVote, Theme
from tests.roundtables.helpers import build_session, cid, emit, joined, received


def poll_phase(app, people=20, kind="question", options=("Yes", "No", "Later"), facilitators=2):
    """A running session in the poll phase with an open poll; everyone joined."""
    with app.app_context():
        info = build_session(participants=people, facilitators=facilitators)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    emit(lead, "session_start", {"session_id": sid})
    for phase in ("discussion", "submissions"):
        emit(lead, "phase_set", {"session_id": sid, "phase": phase})
    if kind != "question":
        fac, fack = joined(app, info["facilitators"][0], sid)
        table_id = fack["seat"]["table_id"]
        emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
        ideas = [
            emit(fac, "idea_add", {"session_id": sid, "table_id": table_id, "text": t,
                                   "client_id": cid()})["idea"]["id"]
            for t in ("Parks", "Buses")
        ]  # fmt: skip
        emit(lead, "phase_set", {"session_id": sid, "phase": "submissions"})
        emit(fac, "ideas_submit", {"session_id": sid, "table_id": table_id})
        emit(lead, "phase_set", {"session_id": sid, "phase": "synthesis"})
        for idea, name in zip(ideas, ("Green parks", "Better buses"), strict=True):
            emit(lead, "theme_create", {"session_id": sid, "name": name, "idea_ids": [idea]})
        assert emit(lead, "themes_publish", {"session_id": sid})["ok"]
    else:
        emit(lead, "phase_set", {"session_id": sid, "phase": "synthesis"})
    emit(lead, "phase_set", {"session_id": sid, "phase": "poll"})
    ack = emit(
        lead,
        "poll_open",
        {"session_id": sid, "kind": kind, "question": "What now?", "options": list(options)},
    )
    assert ack["ok"], ack
    return info, sid, lead, ack["poll"]


def test_many_concurrent_voters_exact_tally_and_duplicates_refused(app):
    info, sid, lead, poll = poll_phase(app, people=40)
    voters = [joined(app, uid, sid)[0] for uid in info["people"]]
    options = [o["id"] for o in poll["options"]]
    expected = {str(o): 0 for o in options}
    acks: list = [None] * len(voters)
    duplicates: list = [None] * len(voters)
    sent_before = tallies.broadcasts_sent()

    def vote(i):
        choice = options[i % 3]
        acks[i] = emit(
            voters[i],
            "poll_vote",
            {
                "session_id": sid,
                "poll_id": poll["id"],
                "option_id": choice,
                "client_id": f"vote-{i:08d}",
            },
        )
        # A second vote with a new id is refused; the same id again gets the same answer.
        duplicates[i] = (
            emit(voters[i], "poll_vote", {"session_id": sid, "poll_id": poll["id"],
                                          "option_id": options[0], "client_id": cid()}),
            emit(voters[i], "poll_vote", {"session_id": sid, "poll_id": poll["id"],
                                          "option_id": choice, "client_id": f"vote-{i:08d}"}),
        )  # fmt: skip

    for i in range(len(voters)):
        expected[str(options[i % 3])] += 1
    threads = [threading.Thread(target=vote, args=(i,)) for i in range(len(voters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a and a["ok"] for a in acks), [a for a in acks if not a or not a["ok"]][:3]
    assert all(d[0]["error"] == "already_voted" for d in duplicates)
    assert all(d[1]["ok"] and d[1]["vote"]["repeat"] for d in duplicates)
    with app.app_context():
        assert db.session.scalar(select(func.count(PollVote.id))) == 40
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "roundtable.vote")
            )
            == 40
        )
    # The coalesced tally reaches everyone with exact counts, far fewer broadcasts than votes.
    deadline = time.monotonic() + 5
    final = None
    while time.monotonic() < deadline:
        tallies_seen = [e["args"][0] for e in received(voters[0], "poll_tally")]
        if tallies_seen and tallies_seen[-1]["total"] == 40:
            final = tallies_seen[-1]
            break
        time.sleep(0.05)
    assert final is not None and final["counts"] == expected
    assert sum(final["by_takes_part"].values()) == 40
    assert tallies.broadcasts_sent() - sent_before < 40


def test_vote_change_and_own_vote_in_snapshot_after_reconnect(app):
    info, sid, lead, poll = poll_phase(app, people=10, facilitators=1)
    voter, _ = joined(app, info["people"][0], sid)
    a, b = (o["id"] for o in poll["options"][:2])
    assert emit(voter, "poll_vote", {"session_id": sid, "poll_id": poll["id"], "option_id": a,
                                     "client_id": cid()})["ok"]  # fmt: skip
    changed = emit(voter, "poll_vote", {"session_id": sid, "poll_id": poll["id"], "option_id": b,
                                        "client_id": cid(), "change": True})  # fmt: skip
    assert changed["ok"], changed
    # The person reloads: a new socket's snapshot shows the open poll and their vote.
    again, ack = joined(app, info["people"][0], sid)
    snap = emit(again, "snapshot", {"session_id": sid})["snapshot"]
    assert snap["poll"]["id"] == poll["id"] and snap["poll"]["my_vote"]["option_id"] == b
    assert snap["poll"]["tally"]["counts"][str(b)] == 1 and snap["poll"]["tally"]["total"] == 1


def test_agree_poll_results_become_agenda_items(app):
    info, sid, lead, poll = poll_phase(app, people=10, kind="agree", facilitators=1)
    parks, buses = (o["id"] for o in poll["options"])
    for i, uid in enumerate(info["people"]):
        client, _ = joined(app, uid, sid)
        stances = {str(parks): "agree", str(buses): "disagree" if i < 7 else "agree"}
        ack = emit(client, "poll_vote", {"session_id": sid, "poll_id": poll["id"],
                                         "stances": stances, "client_id": cid()})  # fmt: skip
        assert ack["ok"], ack
    closed = emit(lead, "poll_close", {"session_id": sid, "poll_id": poll["id"]})
    assert closed["tally"]["counts"][str(parks)]["agree"] == 10
    assert closed["tally"]["counts"][str(buses)] == {"agree": 3, "disagree": 7, "pass": 0}
    emit(lead, "phase_set", {"session_id": sid, "phase": "results"})
    ack = emit(lead, "session_close", {"session_id": sid})
    assert ack["ok"] and len(ack["agenda_items"]) == 1
    with app.app_context():
        item = db.session.get(AgendaItem, ack["agenda_items"][0])
        assert item.title == "Green parks" and item.division_id == info["division_id"]
        assert "Tables:" in item.body
        theme = db.session.scalar(select(Theme).where(Theme.name == "Green parks"))
        assert theme.agenda_item_id == item.id


def test_the_snapshot_shows_the_open_poll_even_when_a_later_one_closed(app_ctx):
    """`queries.current_poll` (one query per join): the open poll first, else the latest."""
    from deliberation.roundtables.models import Poll, PollKind, PollState
    from deliberation.roundtables.queries import current_poll

    session_id = build_session(participants=0, facilitators=0)["session_id"]
    assert current_poll(session_id) is None

    def poll(state: PollState) -> Poll:
        made = Poll(session_id=session_id, kind=PollKind.QUESTION, question="Q?", state=state)
        db.session.add(made)
        db.session.flush()
        return made

    poll(PollState.CLOSED)
    still_open = poll(PollState.OPEN)
    poll(PollState.CLOSED)
    assert current_poll(session_id) is still_open
    still_open.state = PollState.CLOSED
    latest = poll(PollState.CLOSED)
    assert current_poll(session_id) is latest
