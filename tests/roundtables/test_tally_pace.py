"""How often a live tally goes out: the gap follows the whole room, the lull this process."""

import contextlib
import dataclasses
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from deliberation.extensions import db
from deliberation.roundtables import polls, sessions, tallies
from deliberation.roundtables.models import (
    ParticipantRole,
    RoundtableSession,
    TakesPart,
)
from tests.factories import make_user
from tests.roundtables.helpers import build_session, cid, open_poll_in_a_seated_room


def _session(participants: int) -> RoundtableSession:
    built = build_session(participants=participants, facilitators=0)
    return db.session.get(RoundtableSession, built["session_id"])


def _register(session, count: int, takes_part: TakesPart) -> None:
    for _ in range(count):
        user = make_user(commit=False)
        if takes_part is TakesPart.PAPER:  # a member entered on paper by a facilitator
            sessions.register(session, user).takes_part = TakesPart.PAPER
        else:
            sessions.register(session, user, ParticipantRole.PARTICIPANT, takes_part)
    db.session.commit()


def test_the_gap_follows_everyone_with_a_device_in_the_session_not_this_process(app_ctx):
    """No socket of the session is on this process, yet 400 people with a device are in the
    room: the gap is theirs (0.5 ms a person, 0.2 s), so one process or two, each person
    sees the tally as often. People on paper hold no socket and do not count."""
    session = _session(participants=300)
    _register(session, 100, TakesPart.HALL)
    _register(session, 150, TakesPart.PAPER)
    key = (1, session.id)
    assert tallies._gap_for(key) == tallies.COALESCE_S  # not yet counted: this process alone
    tallies.count_room(app_ctx, session.id)
    assert tallies._gap_for(key) == tallies.broadcast_gap(400) == pytest.approx(0.2)
    # The lull that ends a burst is this process's: no socket here, the smallest.
    assert tallies._lull_for(key) == tallies.BURST_QUIET_SHARE * tallies.COALESCE_S


def test_a_small_room_keeps_the_smallest_gap(app_ctx):
    session = _session(participants=20)
    tallies.count_room(app_ctx, session.id)
    assert tallies._gap_for((1, session.id)) == tallies.COALESCE_S


def test_the_room_is_counted_again_after_a_minute_not_on_every_vote(app_ctx):
    session = _session(participants=300)
    tallies.count_room(app_ctx, session.id)
    before = tallies._gap_for((1, session.id))
    _register(session, 50, TakesPart.ONLINE)
    tallies.count_room(app_ctx, session.id)  # within the minute: the count stands
    assert tallies._gap_for((1, session.id)) == before
    counted = tallies._room_sizes[session.id]
    tallies._room_sizes[session.id] = dataclasses.replace(
        counted, counted_at=counted.counted_at - tallies.ROOM_SIZE_TTL_S
    )
    tallies.count_room(app_ctx, session.id)
    assert tallies._gap_for((1, session.id)) > before


def _vote(session, poll, people: list[int]) -> None:
    info = polls.get_poll_for_vote(session.id, poll.id)
    for uid in people:
        person = sessions.find_participant(session.id, uid)
        polls.cast_poll_vote(info, person, cid(), option_id=poll.options[0].id)
    db.session.commit()


@contextlib.contextmanager
def _counts_of_votes() -> Iterator[list[str]]:
    """The statements that count a poll's votes while the block runs."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if "count(" in statement.lower() and "roundtable_poll_votes" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_the_last_voter_of_a_large_room_makes_the_tally_final_once(app_ctx):
    """210 seated participants (a gap over the smallest: a large room). Until the last of them
    votes the tally waits for the burst's lull; the vote that completes the room is final
    (no vote can follow), once; a facilitator, who never votes, does not hold it back. The
    database is counted only when the votes known here reach the room's voters."""
    session, poll, people = open_poll_in_a_seated_room(participants=210)
    key = (poll.id, session.id)
    tallies.count_room(app_ctx, session.id)
    assert tallies._room_sizes[session.id].voters == 210
    _vote(session, poll, people[:-1])
    with _counts_of_votes() as counts:
        for _ in range(209):  # one batch a vote
            assert not tallies._everyone_has_voted(app_ctx, key, 1)
    assert counts == []
    _vote(session, poll, people[-1:])
    with _counts_of_votes() as counts:
        assert tallies._everyone_has_voted(app_ctx, key, 1)
        assert not tallies._everyone_has_voted(app_ctx, key, 0)  # a change: told once
    assert len(counts) == 1


def test_votes_reported_twice_are_counted_again_not_taken_for_the_whole_room(app_ctx):
    """Notices overlapping a count can report more votes than there are: the database then
    says how many, and the tally is not final until they are all in."""
    session, poll, people = open_poll_in_a_seated_room(participants=210)
    key = (poll.id, session.id)
    tallies.count_room(app_ctx, session.id)
    _vote(session, poll, people[:200])
    assert not tallies._everyone_has_voted(app_ctx, key, 250)
    assert tallies._votes_known[key] == 200
    _vote(session, poll, people[200:])
    # the last ten came through another process: its notice says so, and the tally goes out
    # at once (a large room's first tally otherwise waits at least the smallest interval)
    sent_before, told = tallies.broadcasts_sent(), time.monotonic()
    tallies._votes_elsewhere(app_ctx, f"{poll.id} {session.id} 10")
    assert key in tallies._complete_polls
    while tallies.broadcasts_sent() == sent_before and time.monotonic() - told < 2:
        time.sleep(0.002)
    assert time.monotonic() - told < tallies.COALESCE_S * 0.8


def test_a_small_room_is_never_told_final(app_ctx):
    """At a table the tally goes out 15 ms after the last vote anyway: no count is made."""
    session, poll, people = open_poll_in_a_seated_room(participants=12)
    _vote(session, poll, people)
    tallies.count_room(app_ctx, session.id)
    assert tallies._room_sizes[session.id].voters == 12
    with _counts_of_votes() as counts:
        assert not tallies._everyone_has_voted(app_ctx, (poll.id, session.id), 12)
    assert counts == []


def test_the_other_processes_hear_of_a_large_rooms_votes_less_often_until_its_endgame(app_ctx):
    """Mid-burst in a large room the notices to the other processes go every 0.1 s (its
    tally goes out no more often); once the votes known here near the room's voters, every
    10 ms, so the process whose vote completes the room has the others' counts. A table's
    room hears every 10 ms throughout."""
    session, poll, people = open_poll_in_a_seated_room(participants=210)
    key = (poll.id, session.id)
    tallies.count_room(app_ctx, session.id)
    interval = tallies.news_for_others.interval_for
    assert interval(key) == tallies.NEWS_BURST_INTERVAL_S
    assert not tallies._everyone_has_voted(app_ctx, key, 167)  # 167 of 210: under 80 %
    assert interval(key) == tallies.NEWS_BURST_INTERVAL_S
    assert not tallies._everyone_has_voted(app_ctx, key, 1)
    assert interval(key) == tallies.NEWS_INTERVAL_S
    table, table_poll, _ = open_poll_in_a_seated_room(participants=12)
    tallies.count_room(app_ctx, table.id)
    assert interval((table_poll.id, table.id)) == tallies.NEWS_INTERVAL_S
    # A room not counted yet (another process opened the poll a moment ago): every 10 ms.
    assert interval((poll.id + 99, session.id + 99)) == tallies.NEWS_INTERVAL_S
