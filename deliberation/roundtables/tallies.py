"""Live room-poll tallies, coalesced: while votes pour in, one broadcast per gap that grows
with the room (every 0.1 s at a table, every 2 s in a hall of 5,000), and the final tally
15-70 ms after the last vote; never one broadcast per vote.

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
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from deliberation.core import notices
from deliberation.core.coalesce import Coalescer
from deliberation.extensions import db, socketio
from deliberation.roundtables.models import Participant, Poll, TakesPart
from deliberation.roundtables.polls import poll_tally
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


#: A session's people with a device of their own (session id -> (counted at, count)),
#: counted again after ROOM_SIZE_TTL_S.
_room_sizes: dict[int, tuple[float, int]] = {}
ROOM_SIZE_TTL_S = 60.0


def _note_room_size(app: Flask, session_id: int) -> None:
    """Count the session's people with a device, at most once a minute (one query)."""
    counted = _room_sizes.get(session_id)
    if counted is not None and time.monotonic() - counted[0] < ROOM_SIZE_TTL_S:
        return
    with app.app_context():
        try:
            size = db.session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.session_id == session_id)
                .where(Participant.takes_part != TakesPart.PAPER)
            )
        except SQLAlchemyError:
            # The database restarting must not stop a tally: this process's own sockets
            # set the pace until the next vote counts the room again.
            app.logger.warning("could not count the people of session %s", session_id)
            return
        finally:
            db.session.remove()
    _room_sizes[session_id] = (time.monotonic(), int(size or 0))


def forget_room_sizes() -> None:
    """Count every room again at its next vote (tests: a new database reuses session ids)."""
    _room_sizes.clear()


def _gap_for(key: Hashable) -> float:
    """The gap follows the whole room, not this process's share of it: a person in a room of
    3,000 sees a tally every 1.5 s whether one process serves the room or two, and a second
    process halves each one's broadcasting rather than doubling the tallies."""
    _poll_id, session_id = key  # type: ignore[misc]
    room = _room_sizes.get(session_id, (0.0, 0))[1]
    return broadcast_gap(max(room, _recipients(session_id)))


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
            tally = poll_tally(poll)
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


#: (poll id, session id) -> how the votes came when this process last committed some
#: ("queued": more were waiting; "burst": a large batch; "" neither): passed on with the
#: notice, so the other processes wait for the gap too.
_pace: dict[Hashable, str] = {}


def _tell_other_processes(app: Flask, key: Hashable) -> None:
    poll_id, session_id = key  # type: ignore[misc]
    pace = _pace.pop(key, "")
    notices.send(app, TALLY_NOTICE, f"{poll_id} {session_id} {pace}".rstrip())


#: "Poll P of session S has new votes [queued|burst]", sent to the other processes as votes
#: commit here.
TALLY_NOTICE = "poll-votes"
#: The notice leaves almost at once (the receiving process waits its own QUIET_S), so the
#: room's last tally reaches every process's sockets about as soon as the local ones.
NEWS_QUIET_S = 0.005
news_for_others = Coalescer(COALESCE_S / 2, _tell_other_processes, quiet_s=NEWS_QUIET_S)


def _votes_elsewhere(app: Flask, body: str) -> None:
    poll_id, session_id, *pace = body.split()
    _note_room_size(app, int(session_id))
    tally_broadcasts.touch(
        app,
        (int(poll_id), int(session_id)),
        more_coming=pace == ["queued"],
        in_burst=pace == ["burst"],
    )


notices.on(TALLY_NOTICE, _votes_elsewhere)


def listen_to_other_processes(app: Flask) -> None:
    """This process holds sockets of a live session: hear of votes committed elsewhere."""
    notices.ensure_listening(app)


def mark_dirty(
    app: Flask, poll_id: int, session_id: int, *, more_coming: bool = False, in_burst: bool = False
) -> None:
    """A vote on `poll_id` committed: make sure a tally broadcast follows soon, here and on
    every other process. `more_coming`: votes are queued for a later batch, so the burst goes
    on and the tally waits for its gap; `in_burst`: the batch was large, so a lull must be
    longer to end the burst (`Coalescer.touch`)."""
    key = (poll_id, session_id)
    _note_room_size(app, session_id)
    tally_broadcasts.touch(app, key, more_coming=more_coming, in_burst=in_burst)
    if app.config.get("REDIS_URL"):
        _pace[key] = "queued" if more_coming else "burst" if in_burst else ""
        news_for_others.touch(app, key)


def broadcasts_sent() -> int:
    """How many tally broadcasts went out (tests check coalescing)."""
    return tally_broadcasts.flushes
