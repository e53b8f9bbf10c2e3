"""Every process gets ready for a poll's votes when it opens, before the first vote.

Otherwise the first vote does it while the first voters wait: the poll's cache for the vote's
fast path, the first compile of the batch's statement, and the room's count after the first
batch (3,000 people on one worker, traced: the first batch wrote 5-10 ms late and the next
waited 5-8 ms more, and the slowest 1 % of acknowledgements were all votes of the poll's
first 50 ms). The process where the lead opened the poll gets ready after its commit and
tells the others with a `poll-opened` notice (`core/notices.py`).
"""

import logging

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from deliberation.core import notices
from deliberation.core.errors import DomainError
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.roundtables import ballotbox, polls, tallies, vote_statement

log = logging.getLogger(__name__)

#: "Poll P of session S opened": every process gets ready for the votes that follow.
POLL_OPENED_NOTICE = "poll-opened"


def poll_opened(app: Flask, poll_id: int, session_id: int) -> None:
    """A poll opened in this process (its commit done): get this process and the others ready
    for its votes, which start within a second."""
    socketio.start_background_task(_get_ready, app, poll_id, session_id)
    notices.send(app, POLL_OPENED_NOTICE, f"{poll_id} {session_id}")


def _poll_opened_elsewhere(app: Flask, body: str) -> None:
    poll_id, session_id = (int(part) for part in body.split())
    socketio.start_background_task(_get_ready, app, poll_id, session_id)


notices.on(POLL_OPENED_NOTICE, _poll_opened_elsewhere)


def _get_ready(app: Flask, poll_id: int, session_id: int) -> None:
    with app.app_context():
        try:
            polls.get_poll_for_vote(session_id, poll_id)
            _warm_up()
        except (DomainError, SQLAlchemyError):
            # Only a head start: the first vote does the same, or reports what is wrong.
            log.warning("could not get ready for the votes of poll %s", poll_id, exc_info=True)
        finally:
            db.session.rollback()
            db.session.remove()
    tallies.count_room(app, session_id, fresh=True)


def _warm_up() -> None:
    """Run the batch's statement once with no votes, writing nothing (PostgreSQL: it is
    compiled for the first batch; SQLite's statements compile in no time)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        vote_statement.write(connection, [], utcnow(), ballotbox.VOTE_ACTION, ballotbox.VOTE_OBJECT)
