"""Seats pushed after the room is seated (roundtables/seat_push.py): every participant's
socket gets its table and a snapshot equal to what a `join` would answer, is moved into its
table's room, and the pushes take a fixed number of queries however many people."""

import threading
import time

from sqlalchemy import event, select

from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import polls, queries, seat_push, sessions, tables
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    Phase,
    PollKind,
    RoundtableSession,
)
from tests.roundtables.helpers import build_session, cid, emit, joined, received

#: Fields that differ between two reads a moment apart.
CLOCK_FIELDS = ("server_now", "remaining_s")


def without_clock(snapshot: dict) -> dict:
    return {k: v for k, v in snapshot.items() if k not in CLOCK_FIELDS}


def wait_for(client, name: str, timeout: float = 10) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = received(client, name)
        if found:
            return found
        time.sleep(0.02)
    return []


def test_seat_snapshots_equal_each_persons_own_snapshot(app):
    """Chat at two tables, an idea, a facilitator, an open poll one person voted in."""
    with app.app_context():
        info = build_session(participants=16, facilitators=1, table_size=8)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)  # seats the room
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        db.session.commit()
        people = list(
            db.session.scalars(select(Participant).where(Participant.session_id == session.id))
        )
        citizens = [p for p in people if p.may_vote]
        first = citizens[0]
        other = next(p for p in citizens if p.table_id != first.table_id)
        facilitator = next(p for p in people if p.role == ParticipantRole.TABLE_FACILITATOR)
        for person in (first, other):
            tables.send_chat(session, person, f"hello from {person.id}", cid())
        tables.add_idea(session, facilitator, facilitator.table_id, "More benches", cid())
        for phase in (Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL):
            sessions.set_phase(lead, session, phase)
        poll = polls.open_poll(lead, session, PollKind.QUESTION, "Parks first?", ["Yes", "No"])
        db.session.commit()
        polls.cast_poll_vote(
            polls.get_poll_for_vote(session.id, poll.id), first, cid(), option_id=poll.options[0].id
        )
        db.session.commit()

        pushed = queries.seat_snapshots(session, [p.id for p in people])
        assert set(pushed) == {p.id for p in people}
        for person in people:
            own = queries.snapshot(session, person)
            assert without_clock(pushed[person.id]) == without_clock(own), person.id
        assert pushed[first.id]["poll"]["my_vote"]["option_id"] == poll.options[0].id
        assert pushed[other.id]["poll"]["my_vote"] is None
        assert [m["body"] for m in pushed[other.id]["chat"]] == [f"hello from {other.id}"]
        at_facilitated = [p for p in people if p.table_id == facilitator.table_id]
        assert all(pushed[p.id]["ideas"][0]["body"] == "More benches" for p in at_facilitated)
        assert all(pushed[p.id]["seat"]["facilitator"] for p in at_facilitated)


def count_queries(app, action) -> int:
    """Statements `action` runs in this thread (a background push may run in another)."""
    statements: list[str] = []
    here = threading.get_ident()

    def record(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == here:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def seat_with_sockets(app, participants: int):
    with app.app_context():
        info = build_session(participants=participants, facilitators=2, table_size=6)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    people = [joined(app, uid, sid)[0] for uid in info["people"]]
    for client in people + [lead]:
        received(client)  # forget what joining brought
    return info, sid, lead, people


def test_seating_pushes_each_participant_its_seat_and_table_room(app):
    info, sid, lead, people = seat_with_sockets(app, participants=14)
    ack = emit(lead, "seat_room", {"session_id": sid})
    assert ack["ok"], ack
    with app.app_context():
        tables = dict(
            db.session.execute(
                select(Participant.user_id, Participant.table_id).where(
                    Participant.session_id == sid
                )
            ).all()
        )
    for uid, client in zip(info["people"], people, strict=True):
        seat = wait_for(client, "seat")
        assert len(seat) == 1, uid
        answer = seat[0]["args"][0]
        assert answer["ok"] and answer["staff"] is False
        assert answer["seat"]["table_id"] == tables[uid] is not None
        assert answer["snapshot"]["seated"] is True
    # The lead watches every table and asks itself: no push.
    assert received(lead, "seat") == []
    # Moved into the table's room without a join: a line at the table reaches its people only.
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        sessions.start_session(db.session.get(User, info["lead_id"]), session)
        db.session.commit()
    writer = people[0]
    table = tables[info["people"][0]]
    assert emit(writer, "chat_send", {"session_id": sid, "text": "hi", "client_id": cid()})["ok"]
    for uid, client in zip(info["people"][1:], people[1:], strict=True):
        lines = received(client, "chat_message")
        assert len(lines) == (1 if tables[uid] == table else 0), uid


def test_pushing_seats_takes_the_same_queries_for_ten_or_forty(app):
    counts = []
    for participants in (10, 40):
        info, sid, lead, people = seat_with_sockets(app, participants)
        # Seated as the lead's event would, then pushed once more here, counted.
        assert emit(lead, "seat_room", {"session_id": sid})["ok"]
        assert all(wait_for(client, "seat") for client in people)
        counts.append(count_queries(app, lambda sid=sid: seat_push.push_seats(app, sid)))
        assert all(len(wait_for(client, "seat")) == 1 for client in people)
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts
