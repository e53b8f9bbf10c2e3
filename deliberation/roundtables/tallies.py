"""Live room-poll tallies, coalesced: while votes pour in, one broadcast per gap that grows
with the room (every 0.1 s at a table, every 2 s in a hall of 5,000), and the final tally
15-70 ms after the last vote (at once when the room's last voter voted); never one
broadcast per vote.

A committed vote marks its poll dirty; the shared coalescer folds the votes that commit
meanwhile into one broadcast. The tally is read from the database at send time, so it is
right with several server processes.

With several processes each one sends the tally to its own sockets only, not through the
message queue: a process whose votes committed tells the others "poll P has new votes" (one
small notice, `core/notices.py`, coalesced like the broadcasts), and each reads the tally
and sends it to its own sockets. Through the queue, every process's broadcast reached every
socket, so with K processes each socket received K tallies per gap and every tally crossed
Redis to every process (py-spy at 5,000 people on two workers: sending was a third of the
workers' time during the poll).
"""

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from deliberation.core import notices
from deliberation.core.coalesce import Coalescer
from deliberation.extensions import db, socketio
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    Poll,
    PollVote,
    TakesPart,
)
from deliberation.roundtables.polls import live_tally
from deliberation.roundtables.rooms import NAMESPACE, session_room

#: Smallest gap between two tally broadcasts of one poll.
COALESCE_S = 0.1
#: A broadcast is sent this long after the last vote, unless votes keep coming.
QUIET_S = 0.015
#: A broadcast was measured to cost a process about this long per recipient (session 5,
#: `flask rehearse`: gevent, simple-websocket, 2 cores; direct writes since brought it to
#: 10-20 µs). While votes keep coming the gap grows with the room: 0.5 ms a person, so that
#: broadcasting took no more than a tenth of a process. (A quarter sent each of 5,000 people
#: a tally twice a second during the burst, and every message costs the server, nginx and
#: the phone; the final tally still goes out promptly after the last vote.)
BROADCAST_COST_PER_RECIPIENT_S = 0.00005
BROADCAST_SHARE = 0.1
#: In a burst (votes were queued for the next batch, or a batch was large), a lull ends it
#: only if it lasts this share of this process's own gap (69 ms for 2,750 sockets, the 15 ms
#: of QUIET_S below 600). With the quiet rule alone a tally followed every batch written: 19
#: tallies per person in one 5,000-person poll. A tenth, while the first tally still went out
#: at once, gave 3 tallies per person and ack p99 about 1 s; a twentieth then gave 4-6.
#: Since a large room's first votes start a burst (`large_keys_burst`), 5,000 people
#: on two workers get one tally in a one-second poll, and a twentieth brought it to every
#: phone 60-120 ms sooner than a tenth (converge 327-392 against 409-503 ms, three pairs).
BURST_QUIET_SHARE = 0.05


def broadcast_gap(recipients: int) -> float:
    """Seconds between two tally broadcasts while votes keep coming: 0.5 s for 1,000 sockets,
    1.4 s for 2,750."""
    return max(COALESCE_S, recipients * BROADCAST_COST_PER_RECIPIENT_S / BROADCAST_SHARE)


def _recipients(session_id: int) -> int:
    try:
        return len(socketio.server.manager.rooms[NAMESPACE][session_room(session_id)])
    except (AttributeError, KeyError, TypeError):
        return 0


def _read_alone(app: Flask, statement: Any) -> Any:
    """The one row of `statement`, read in an app context of its own (the vote writer and
    the notice listener have none); None if the database cannot be reached, which must
    never stop a tally."""
    with app.app_context():
        try:
            return db.session.execute(statement).one()
        except SQLAlchemyError:
            return None
        finally:
            db.session.remove()


@dataclass(frozen=True)
class RoomCount:
    """A session's people, counted at `counted_at` (monotonic)."""

    counted_at: float
    #: People with a device of their own (online or in the hall): they receive the tallies.
    with_device: int
    #: People who may vote in a room poll (seated participants, on paper too).
    voters: int


#: Session id -> its people, counted again after ROOM_SIZE_TTL_S.
_room_sizes: dict[int, RoomCount] = {}
ROOM_SIZE_TTL_S = 60.0


def count_room(app: Flask, session_id: int, fresh: bool = False) -> None:
    """Count the session's people (one query): at most once a minute, unless `fresh` (a poll
    opens: people seated since the last count may vote)."""
    counted = _room_sizes.get(session_id)
    if (
        not fresh
        and counted is not None
        and time.monotonic() - counted.counted_at < ROOM_SIZE_TTL_S
    ):
        return
    seated_participant = and_(
        Participant.role == ParticipantRole.PARTICIPANT, Participant.table_id.is_not(None)
    )
    counts = _read_alone(
        app,
        select(
            func.count(case((Participant.takes_part != TakesPart.PAPER, 1))),
            func.count(case((seated_participant, 1))),
        ).where(Participant.session_id == session_id),
    )
    if counts is None:
        # This process's own sockets set the pace until the next vote counts the room again.
        app.logger.warning("could not count the people of session %s", session_id)
        return
    with_device, voters = counts
    _room_sizes[session_id] = RoomCount(time.monotonic(), int(with_device), int(voters))


#: (poll id, session id) -> the poll's votes as this process knows them: its last count in the
#: database, plus the new votes since, written here or reported in another process's notice.
#: The database is counted only once this reaches the room's voters (counting after every
#: batch cost a trickle of 5,000 votes over 20 s 1,200 counts per worker: 2 s of each vote
#: writer). A notice lost or a process restarted leaves it short: that poll's tallies are
#: paced as if it were not complete.
_votes_known: dict[Hashable, int] = {}
#: Polls whose votes reached the room's voters: told once, never counted again.
_complete_polls: set[Hashable] = set()


def _everyone_has_voted(app: Flask, key: Hashable, new_votes: int) -> bool:
    """Whether `new_votes` (just committed here, or reported by another process) brought a
    large room's poll to one vote per voter, for the first time: no vote can follow (only
    changes), so its tally is final.

    Small rooms are skipped: their tally goes out 15 ms after the last vote anyway. A count
    of voters up to a minute old can be short (people seated since): the tally then goes out
    early once, and the rest of the poll is paced as before. Never a vote lost either way."""
    if len(_votes_known) > 1000:
        _votes_known.clear()
        _complete_polls.clear()
    known = _votes_known[key] = _votes_known.get(key, 0) + new_votes
    poll_id, session_id = key  # type: ignore[misc]
    room = _room_sizes.get(session_id)
    if key in _complete_polls or room is None or known < room.voters or _gap_for(key) <= COALESCE_S:
        return False
    counted = _read_alone(app, select(func.count()).where(PollVote.poll_id == poll_id))
    if counted is None:
        return False  # the tally follows at the burst's lull, as without this
    _votes_known[key] = votes = int(counted[0] or 0)
    if votes < room.voters:
        return False
    _complete_polls.add(key)
    return True


def forget_room_sizes() -> None:
    """Count every room again at its next vote (tests: a new database reuses session ids)."""
    _room_sizes.clear()
    _votes_known.clear()
    _complete_polls.clear()


def _gap_for(key: Hashable) -> float:
    """The gap follows the whole room, not this process's share of it: a person in a room of
    3,000 sees a tally every 1.5 s whether one process serves the room or two, and a second
    process halves each one's broadcasting rather than doubling the tallies."""
    _poll_id, session_id = key  # type: ignore[misc]
    room = _room_sizes.get(session_id)
    return broadcast_gap(max(room.with_device if room else 0, _recipients(session_id)))


def _lull_for(key: Hashable) -> float:
    """The lull that ends a burst follows this process's own sockets: about how long one
    broadcast holds it, during which its next batch of votes waits unread."""
    _poll_id, session_id = key  # type: ignore[misc]
    return BURST_QUIET_SHARE * broadcast_gap(_recipients(session_id))


#: (poll id, opened at) -> the tally this process last sent to its sockets.
_last_sent: dict[tuple[int, Any], Any] = {}


def _broadcast_tally(app: Flask, key: Hashable) -> None:
    poll_id, session_id = key  # type: ignore[misc]
    if _recipients(session_id) == 0:
        return  # nobody of the session on this process
    with app.app_context():
        try:
            poll = db.session.get(Poll, poll_id)
            if poll is None:
                return
            tally = live_tally(poll)
            # A new database (tests, a reset) reuses poll ids: the opening time tells them apart.
            sent_key = (poll_id, poll.opened_at)
        finally:
            db.session.rollback()
            db.session.remove()
    # Another process's notice may bring nothing new here (its votes were already read):
    # the sockets hold this tally already.
    if _last_sent.get(sent_key) == tally:
        return
    if len(_last_sent) > 1000:
        _last_sent.clear()
    _last_sent[sent_key] = tally
    socketio.emit(
        "poll_tally", tally, to=session_room(session_id), namespace=NAMESPACE, ignore_queue=True
    )


# The smallest gap also spaces broadcasts in a burst: a tally is due once the votes have been
# quiet for QUIET_S, which happens between two of the group commit's batches too, unless the
# batch writer says more votes are queued (`mark_dirty(more_coming=True)`). (50 ms here let
# a 1,000-person poll broadcast twice as often: ack p50 25 -> 100-115 ms.)
tally_broadcasts = Coalescer(
    COALESCE_S,
    _broadcast_tally,
    quiet_s=QUIET_S,
    interval_for_key=_gap_for,
    cost_factor=1 / BROADCAST_SHARE,
    burst_lull_for_key=_lull_for,
    large_keys_burst=True,
)


#: (poll id, session id) -> what the next notice says: the new votes written here since the
#: last one, and how they came when this process last committed some ("final": the room's
#: last voter voted; "queued": more were waiting; "burst": a large batch; "" none of these),
#: so the other processes wait for the gap too, or not at all.
_unreported: dict[Hashable, tuple[int, str]] = {}


def _tell_other_processes(app: Flask, key: Hashable) -> None:
    poll_id, session_id = key  # type: ignore[misc]
    new_votes, pace = _unreported.pop(key, (0, ""))
    notices.send(app, TALLY_NOTICE, f"{poll_id} {session_id} {new_votes} {pace}".rstrip())


#: "Poll P of session S has N new votes [final|queued|burst]", sent to the other processes as
#: votes commit here.
TALLY_NOTICE = "poll-votes"
#: The notice leaves almost at once (the receiving process waits its own QUIET_S), so the
#: room's last tally reaches every process's sockets about as soon as the local ones.
NEWS_QUIET_S = 0.005
#: At most one notice per 10 ms: each carries how many votes were written here, and the
#: process whose votes complete the room can tell so only when the others' counts are in.
NEWS_INTERVAL_S = 0.01
#: A large room's tally goes out every gap (0.1 s or more) while its votes pour in, so till
#: the room nears its last voters the other processes need news only this often. Every
#: 10 ms, a notice, its Redis round trip and what it sets off in each receiving process cost
#: each of two workers 40-60 ms of CPU in a 3,000-person poll (a greenlet trace).
NEWS_BURST_INTERVAL_S = 0.1
#: ... and once the votes known here reach this share of the room's voters, every 10 ms
#: again: the others' counts must be in when the last voter votes. (Known votes lag by at
#: most NEWS_BURST_INTERVAL_S of the other processes' votes: 5 % of the room when 5,000
#: vote within a second.)
NEWS_ENDGAME_SHARE = 0.8


def _news_gap_for(key: Hashable) -> float:
    """How often this process tells the others of its votes on the poll `key`."""
    _poll_id, session_id = key  # type: ignore[misc]
    room = _room_sizes.get(session_id)
    if (
        room is None
        or _gap_for(key) <= COALESCE_S
        or _votes_known.get(key, 0) >= NEWS_ENDGAME_SHARE * room.voters
    ):
        return NEWS_INTERVAL_S
    return NEWS_BURST_INTERVAL_S


news_for_others = Coalescer(
    NEWS_INTERVAL_S, _tell_other_processes, quiet_s=NEWS_QUIET_S, interval_for_key=_news_gap_for
)


def _votes_elsewhere(app: Flask, body: str) -> None:
    poll_id, session_id, new_votes, *pace = body.split()
    key = (int(poll_id), int(session_id))
    count_room(app, key[1])
    if pace == ["final"]:
        _complete_polls.add(key)  # no need to count it here
        final = True
    else:
        final = _everyone_has_voted(app, key, int(new_votes))
    tally_broadcasts.touch(
        app, key, more_coming=pace == ["queued"], in_burst=pace == ["burst"], final=final
    )


notices.on(TALLY_NOTICE, _votes_elsewhere)


def listen_to_other_processes(app: Flask) -> None:
    """This process holds sockets of a live session: hear of votes committed elsewhere."""
    notices.ensure_listening(app)


def mark_dirty(
    app: Flask,
    poll_id: int,
    session_id: int,
    *,
    more_coming: bool = False,
    in_burst: bool = False,
    new_votes: int = 0,
) -> None:
    """A vote on `poll_id` committed: make sure a tally broadcast follows soon, here and on
    every other process. `more_coming`: votes are queued for a later batch, so the burst goes
    on and the tally waits for its gap; `in_burst`: the batch was large, so a lull must be
    longer to end the burst (`Coalescer.touch`). `new_votes`: how many of the votes are new
    (not changes); once every voter of a large room has voted, the tally goes out at once
    here and everywhere (`_everyone_has_voted`)."""
    key = (poll_id, session_id)
    count_room(app, session_id)
    final = _everyone_has_voted(app, key, new_votes)
    tally_broadcasts.touch(app, key, more_coming=more_coming, in_burst=in_burst, final=final)
    if app.config.get("REDIS_URL"):
        pace = "final" if final else "queued" if more_coming else "burst" if in_burst else ""
        _unreported[key] = (_unreported.get(key, (0, ""))[0] + new_votes, pace)
        news_for_others.touch(app, key, final=final)


def broadcasts_sent() -> int:
    """How many tally broadcasts went out (tests check coalescing)."""
    return tally_broadcasts.flushes
