"""How often a live tally goes out: the gap follows the whole room, the lull this process."""

import pytest

from deliberation.extensions import db
from deliberation.roundtables import sessions, tallies
from deliberation.roundtables.models import ParticipantRole, RoundtableSession, TakesPart
from tests.factories import make_user
from tests.roundtables.helpers import build_session


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
    tallies._note_room_size(app_ctx, session.id)
    assert tallies._gap_for(key) == tallies.broadcast_gap(400) == pytest.approx(0.2)
    # The lull that ends a burst is this process's: no socket here, the smallest.
    assert tallies._lull_for(key) == tallies.BURST_QUIET_SHARE * tallies.COALESCE_S


def test_a_small_room_keeps_the_smallest_gap(app_ctx):
    session = _session(participants=20)
    tallies._note_room_size(app_ctx, session.id)
    assert tallies._gap_for((1, session.id)) == tallies.COALESCE_S


def test_the_room_is_counted_again_after_a_minute_not_on_every_vote(app_ctx):
    session = _session(participants=300)
    tallies._note_room_size(app_ctx, session.id)
    before = tallies._gap_for((1, session.id))
    _register(session, 50, TakesPart.ONLINE)
    tallies._note_room_size(app_ctx, session.id)  # within the minute: the count stands
    assert tallies._gap_for((1, session.id)) == before
    counted_at, size = tallies._room_sizes[session.id]
    tallies._room_sizes[session.id] = (counted_at - tallies.ROOM_SIZE_TTL_S, size)
    tallies._note_room_size(app_ctx, session.id)
    assert tallies._gap_for((1, session.id)) > before
