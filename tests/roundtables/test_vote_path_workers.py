"""The room-poll vote's path on a process that did not open the poll (issue 15): a cold poll
cache is filled by one lookup, not one per vote; every process gets ready when a poll opens;
and the batch's audit entries are the same rows `audit.record` writes."""

import threading
import time
from collections.abc import Callable

from sqlalchemy import event, func, select

from deliberation.core import audit, notices
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.roundtables import ballotbox, polls, sessions, tallies
from deliberation.roundtables.models import PollVote
from tests.roundtables.results_helpers import run_session
from tests.roundtables.test_polls import poll_phase


def test_a_cold_poll_cache_is_filled_by_one_lookup_for_many_votes_at_once(app):
    with app.app_context():
        info = run_session(close=False)
        session_id, poll_id = info["session_id"], info["choose_poll"]
        engine = db.engine
    polls._POLL_INFO.clear()  # this process never saw the poll (another opened it)
    lookups: list[str] = []

    def slow_poll_lookup(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT") and "FROM roundtable_polls" in statement:
            lookups.append(statement)
            time.sleep(0.05)  # long enough for every other vote to arrive meanwhile

    event.listen(engine, "before_cursor_execute", slow_poll_lookup)
    start = threading.Barrier(12)
    found: list[polls.PollInfo] = []

    def vote_arrives() -> None:
        with app.app_context():
            start.wait()
            found.append(polls.get_poll_for_vote(session_id, poll_id))

    try:
        voters = [threading.Thread(target=vote_arrives) for _ in range(12)]
        for voter in voters:
            voter.start()
        for voter in voters:
            voter.join(10)
    finally:
        event.remove(engine, "before_cursor_execute", slow_poll_lookup)
    assert len(found) == 12
    assert {info.id for info in found} == {poll_id}
    assert len(lookups) == 1, lookups


def test_record_many_writes_the_rows_record_writes(app):
    with app.app_context():
        info = run_session(close=False)
        actor = info["lead_id"]
        audit.record("roundtable.vote", "roundtable_poll", 7, actor_id=actor)
        audit.record_many("roundtable.vote", "roundtable_poll", [(7, actor), (8, None)])
        audit.record_many("roundtable.vote", "roundtable_poll", [])
        db.session.commit()
        rows = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_id.in_(["7", "8"]), AuditEntry.action == "roundtable.vote")
            .order_by(AuditEntry.id)
        ).all()
        shape = [(r.action, r.object_type, r.object_id, r.actor_id, r.details) for r in rows]
        assert shape == [
            ("roundtable.vote", "roundtable_poll", "7", actor, {}),
            ("roundtable.vote", "roundtable_poll", "7", actor, {}),
            ("roundtable.vote", "roundtable_poll", "8", None, {}),
        ]
        assert all(r.created_at is not None for r in rows)


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not ready in time"
        time.sleep(0.01)


def _ready_for(app, session_id: int, poll_id: int) -> bool:
    with app.app_context():
        cached = (str(db.engine.url), poll_id) in polls._POLL_INFO
    return cached and session_id in tallies._room_sizes


def test_a_poll_opened_in_another_process_readies_this_one_before_the_first_vote(app):
    """The notice of a poll opened elsewhere: this process caches the poll, counts the room
    and runs the vote batch's statements, writing nothing. The first vote then looks up
    neither the poll nor the room; on PostgreSQL its batch compiles none of its statements
    (before, all of that fell to the first voters: traced at 3,000 people, their batch wrote
    5-10 ms late and the next one waited 5-8 ms for the room's count)."""
    with app.app_context():
        info = run_session(close=False)  # the choose-one poll is open; the last person has
        session_id, poll_id = info["session_id"], info["choose_poll"]  # not voted
        voter = sessions.find_participant(session_id, info["people"][-1])
        poll = polls.get_poll_for_vote(session_id, poll_id)
        request = ballotbox.VoteRequest(
            poll_id=poll_id, session_id=session_id, participant_id=voter.id,
            user_id=voter.user_id, session_token=voter.user.session_token, client_id="e" * 32,
            option_id=min(poll.option_ids), member_category=voter.member_category,
        )  # fmt: skip
        written = (
            db.session.scalar(select(func.count()).select_from(PollVote)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)),
        )
        db.session.remove()
        engine = db.engine
    polls._POLL_INFO.clear()  # this process never saw the poll
    tallies.forget_room_sizes()

    notices._handle(app, f"another-process {ballotbox.POLL_OPENED_NOTICE} {poll_id} {session_id}")
    _wait_for(lambda: _ready_for(app, session_id, poll_id))
    assert tallies._room_sizes[session_id].voters == len(info["people"])
    with app.app_context():
        assert written == (  # the warm-up wrote nothing
            db.session.scalar(select(func.count()).select_from(PollVote)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)),
        )
        db.session.remove()

    compiled_before = set(engine._compiled_cache)
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with app.test_request_context():
            answer = ballotbox.submit(app, request)
        time.sleep(0.3)  # the writer's after-batch work (the tally's pace) runs meanwhile
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert answer["client_id"] == "e" * 32 and not answer.get("repeat")
    assert statements, "the vote was written"
    assert not [s for s in statements if "roundtable_poll_options" in s]  # the poll lookup
    assert not [s for s in statements if "count(" in s.lower() and "participants" in s]
    if engine.dialect.name == "postgresql":
        compiled = [engine._compiled_cache[key].string for key in
                    set(engine._compiled_cache) - compiled_before]  # fmt: skip
        assert not [c for c in compiled if c.lstrip().startswith("INSERT")], compiled
        assert not [c for c in compiled if "FOR SHARE" in c or "session_token" in c], compiled


def test_the_lead_opening_a_poll_readies_the_lead_s_own_process(app):
    """Opened over Socket.IO: after its commit the lead's process caches the poll and counts
    the room, as the others do on the notice."""
    polls._POLL_INFO.clear()
    tallies.forget_room_sizes()
    info, sid, _lead, poll = poll_phase(app, people=12)
    _wait_for(lambda: _ready_for(app, sid, poll["id"]))
    assert tallies._room_sizes[sid].voters == len(info["people"])
