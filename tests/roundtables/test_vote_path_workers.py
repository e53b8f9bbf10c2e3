"""The room-poll vote's path on a process that did not open the poll (issue 15): a cold poll
cache is filled by one lookup, not one per vote; every process gets ready when a poll opens;
and the batch's audit entries are the same rows `audit.record` writes."""

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from deliberation.accounts.models import User
from deliberation.core import audit, notices
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import is_database_outage
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.roundtables import (
    ballotbox,
    polls,
    sessions,
    tallies,
    vote_readiness,
    vote_statement,
)
from deliberation.roundtables.models import PollKind, PollVote
from tests.roundtables.helpers import (
    open_poll_in_a_seated_room,
    seated_room_in_poll_phase,
)
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

    notice = f"{vote_readiness.POLL_OPENED_NOTICE} {poll_id} {session_id}"
    notices._handle(app, f"another-process {notice}")
    _wait_for(lambda: _ready_for(app, session_id, poll_id))
    assert tallies._room_sizes[session_id].voters == len(info["people"])
    with app.app_context():
        assert written == (  # the warm-up wrote nothing
            db.session.scalar(select(func.count()).select_from(PollVote)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)),
        )
        db.session.remove()

    cached, counted = polls._POLL_INFO[(str(engine.url), poll_id)], tallies._room_sizes[session_id]
    compiled_before = set(engine._compiled_cache)
    with app.test_request_context():
        answer = ballotbox.submit(app, request)
    time.sleep(0.3)  # the writer's after-batch work (the tally's pace) runs meanwhile
    assert answer["client_id"] == "e" * 32 and not answer.get("repeat")
    assert polls._POLL_INFO[(str(engine.url), poll_id)] is cached  # not looked up again
    assert tallies._room_sizes[session_id] is counted  # not counted again
    if engine.dialect.name == "postgresql":
        compiled = [engine._compiled_cache[key].string for key in
                    set(engine._compiled_cache) - compiled_before]  # fmt: skip
        assert not [c for c in compiled if "INSERT INTO roundtable_poll_votes" in c], compiled


def test_the_lead_opening_a_poll_readies_the_lead_s_own_process(app):
    """Opened over Socket.IO: after its commit the lead's process caches the poll and counts
    the room, as the others do on the notice."""
    polls._POLL_INFO.clear()
    tallies.forget_room_sizes()
    info, sid, _lead, poll = poll_phase(app, people=12)
    _wait_for(lambda: _ready_for(app, sid, poll["id"]))
    assert tallies._room_sizes[sid].voters == len(info["people"])


def _vote_request(
    person, poll, client_id: str, option_id: int, token: str | None = None
) -> ballotbox.VoteRequest:
    """`person`'s vote on `poll`, as the vote path queues it (`token`: the login it carries)."""
    return ballotbox.VoteRequest(
        poll_id=poll.id, session_id=poll.session_id, participant_id=person.id,
        user_id=person.user_id, session_token=token or person.user.session_token,
        client_id=client_id, option_id=option_id, member_category=person.member_category,
    )  # fmt: skip


def test_one_batch_answers_every_kind_of_vote_on_either_database(app):
    """PostgreSQL writes a batch as one statement whose checks are SQL (`vote_statement`);
    SQLite as separate statements whose checks are Python (`ballotbox.accept`). A batch
    mixing every case gets the same answers on both: the first valid vote of each person is
    written, a resent one is a repeat, a second one refused; a stale login is refused but the
    same person's valid vote after it is written; a closed poll and a closed account refuse."""
    with app.app_context():
        session, lead, user_ids = seated_room_in_poll_phase(participants=8)
        closed = polls.open_poll(lead, session, PollKind.QUESTION, "Earlier?", ["Yes", "No"])
        polls.close_poll(lead, closed)
        poll = polls.open_poll(lead, session, PollKind.QUESTION, "Parks first?", ["Yes", "No"])
        db.session.commit()
        people = [sessions.find_participant(session.id, uid) for uid in user_ids]

        def vote(n: int, client: str, on=poll, token: str | None = None) -> ballotbox.VoteRequest:
            return _vote_request(people[n], on, client * 32, on.options[0].id, token)

        with db.engine.connect() as connection:
            ballotbox._write([vote(4, "4")], connection)  # an earlier batch
        db.session.get(User, people[5].user_id).is_active_account = False
        db.session.commit()
        is_vote_entry = AuditEntry.action == "roundtable.vote"
        audited_before = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(is_vote_entry)
        )
        batch = [
            vote(0, "a"),
            vote(0, "a"),  # the same vote sent again
            vote(0, "b"),  # the same person again: a second vote
            vote(1, "c", token="stale"),  # logged out since (another device logged in)
            vote(1, "d"),  # ... and from that device
            vote(2, "e", on=closed),
            vote(4, "4"),  # sent again after its batch was written
            vote(4, "f"),
            vote(5, "g"),  # the account was closed
        ]
        with db.engine.connect() as connection:
            new_votes = ballotbox._write(batch, connection)
        outcome = [
            (r.refusal, r.answer is not None and bool(r.answer.get("repeat"))) for r in batch
        ]
        assert outcome == [
            (None, False),
            (None, True),
            ("already_voted", False),
            ("unauthenticated", False),
            (None, False),
            ("poll_closed", False),
            (None, True),
            ("already_voted", False),
            ("unauthenticated", False),
        ]
        assert new_votes == {(poll.id, session.id): 2}
        stored = db.session.execute(
            select(PollVote.participant_id, PollVote.client_id).where(PollVote.poll_id == poll.id)
        ).all()
        assert sorted(stored) == sorted(
            (people[n].id, client * 32) for n, client in ((0, "a"), (1, "d"), (4, "4"))
        )
        audited = db.session.scalars(
            select(AuditEntry).where(is_vote_entry).order_by(AuditEntry.id)
        ).all()
        assert len(audited) == audited_before + 2
        assert sorted(e.actor_id for e in audited[-2:]) == sorted(
            [people[0].user_id, people[1].user_id]
        )
        assert [(e.object_type, e.object_id, e.details) for e in audited[-2:]] == [
            ("roundtable_poll", str(poll.id), {})
        ] * 2


@pytest.mark.postgresql_only  # SQLite writes a batch as separate statements
def test_the_vote_statement_gets_the_parameters_sqlalchemy_would_send(app):
    """PostgreSQL's batch runs on the driver's cursor with its parameters converted once per
    dialect (`vote_statement._Compiled`): they must be exactly what SQLAlchemy sends for the
    same statement and values, enums and JSON included."""
    with app.app_context():
        session, poll, user_ids = open_poll_in_a_seated_room(participants=3)
        people = [sessions.find_participant(session.id, uid) for uid in user_ids]
        batch = [
            _vote_request(person, poll, f"{n}" * 32, poll.options[n % 2].id)
            for n, person in enumerate(people)
        ]
        assert {request.member_category for request in batch} != {None}
        values = {
            f"{name}_rows": [getattr(request, name) for request in batch]
            for name in vote_statement._REQUEST_TYPES
            if name != "n"
        } | {
            "n_rows": [0, 1, 2],
            "user_ids": [request.user_id for request in batch],
            "poll_ids": [poll.id],
            "now": utcnow(),
            "action": ballotbox.VOTE_ACTION,
            "object_type": ballotbox.VOTE_OBJECT,
        }
        sent: list[dict] = []

        def keep(_conn, _cursor, _statement, parameters, *_args):
            sent.append(dict(parameters))

        with db.engine.connect() as connection:
            event.listen(connection, "before_cursor_execute", keep)
            with connection.begin() as transaction:
                connection.execute(vote_statement._statement(), values)
                transaction.rollback()
            ours = vote_statement._compiled(connection.dialect).parameters(values)
    assert len(sent) == 1

    def plain(parameters: dict) -> dict:  # psycopg's JSON wrapper holds its value as `obj`
        return {name: (type(v), getattr(v, "obj", v)) for name, v in parameters.items()}

    assert plain(ours) == plain(sent[0])


@pytest.mark.postgresql_only  # the driver's own error, on PostgreSQL's path
def test_a_batch_whose_connection_the_server_dropped_is_an_outage_and_the_next_is_written(app):
    """The batch runs on the driver's cursor; a connection the server dropped mid-poll must
    still read as an outage (`not_recorded`: the phone sends the vote again), not as a bug,
    and the connection is invalidated so the next batch is written on a fresh one."""
    with app.app_context():
        session, poll, user_ids = open_poll_in_a_seated_room(participants=2)
        people = [sessions.find_participant(session.id, uid) for uid in user_ids]
        first, second = (
            _vote_request(person, poll, f"{n}" * 32, poll.options[0].id)
            for n, person in enumerate(people)
        )
        connection = db.engine.connect()
        backend = connection.connection.driver_connection.info.backend_pid
        with db.engine.connect() as other:
            other.execute(select(func.pg_terminate_backend(backend)))
        with pytest.raises(DBAPIError) as raised:
            ballotbox._write([first], connection)
        assert is_database_outage(raised.value)
        assert connection.invalidated
        ballotbox._refuse_batch([first], raised.value)
        assert first.refusal == "not_recorded"
        connection.close()
        with db.engine.connect() as fresh:
            assert ballotbox._write([second], fresh) == {(poll.id, session.id): 1}
        assert db.session.scalar(select(func.count()).select_from(PollVote)) == 1
