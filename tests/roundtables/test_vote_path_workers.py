"""The room-poll vote's path on a process that did not open the poll (issue 15): a cold poll
cache is filled by one lookup, not one per vote, and the batch's audit entries are the same
rows `audit.record` writes."""

import threading
import time

from sqlalchemy import event, select

from deliberation.core import audit
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.roundtables import polls
from tests.roundtables.results_helpers import run_session


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
