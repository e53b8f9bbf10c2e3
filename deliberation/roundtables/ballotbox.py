"""Group commit for room-poll votes: many votes, one short write, each acked after it.

A thousand people voting within a second would otherwise mean a thousand transactions, each
blocking the gevent loop while SQLite or PostgreSQL works. Instead each vote handler puts its
(already validated) vote in a queue and waits; one writer takes whatever is queued and, at
once, re-checks every voter's login, checks the poll is still open, inserts the votes
(UNIQUE(poll, participant) in the database drops second votes) and writes their audit
entries: on PostgreSQL as one statement in one round trip (`vote_statement`), on SQLite as
separate statements in one transaction. Only then is each handler woken with its answer. At
low load a batch holds one vote, so nothing waits for company. The rules (who votes, is the
poll open, repeat or refusal, the answer's shape) are those of `polls`; this module only
batches them, and `accept` words each vote's answer on both databases.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import bindparam, null, select
from sqlalchemy.engine import Connection

from deliberation.accounts.models import MemberCategory, User
from deliberation.core import audit, bulk
from deliberation.core.errors import DomainError, is_database_outage
from deliberation.core.group_commit import Batcher
from deliberation.db import utcnow
from deliberation.roundtables import polls, tallies, vote_statement
from deliberation.roundtables.models import Poll, PollKind, PollVote

#: Largest batch written in one transaction. Votes that arrive while a batch is written wait
#: for the next one; at 5,000 people on two workers 2,000 piled up per worker in half a
#: second, and written 500 at a time they took four transactions in a row, each waiting its
#: turn on the busy worker for its round trips (the last commit 0.5 s after the last vote).
MAX_BATCH = 2000
#: A batch this large means votes are pouring in: a lull must be longer to end the burst.
#: (1,000 people voting within a second make batches of 5–20; 5,000 of hundreds.)
BURST_BATCH = 50
#: Longest a handler waits for its batch to commit.
WAIT_S = 30.0


#: SQLite's reads (PostgreSQL's batch is one statement, `vote_statement`): the voters' logins,
#: checked again at write time (a logout between the vote and its batch), and the batch's
#: polls that are open, in one statement: rows (user id, session token, active, None), then
#: (None, None, None, open poll id).
_open_polls = (
    select(Poll.id)
    .where(Poll.id.in_(bindparam("poll_ids", expanding=True)), polls.poll_is_open(bindparam("now")))
    .cte("open_polls")
)
_LOGINS_AND_OPEN_POLLS = (
    select(User.id, User.session_token, User.is_active_account, null().label("open_poll_id"))
    .where(User.id.in_(bindparam("user_ids", expanding=True)))
    .union_all(select(null(), null(), null(), _open_polls.c.id))
)


@dataclass
class VoteRequest:
    """A new choose-one vote, already validated by `polls` rules, waiting for its batch."""

    poll_id: int
    session_id: int
    participant_id: int
    user_id: int
    session_token: str
    client_id: str
    option_id: int
    member_category: MemberCategory
    done: Any = None
    #: The acknowledgement's fields, or the refusal's code (messages are translated by the
    #: handler, which runs in the voter's request context).
    answer: dict[str, Any] | None = None
    refusal: str | None = None


class Unauthenticated(DomainError):
    code = "unauthenticated"


def takes(poll: polls.PollInfo, *, change: bool) -> bool:
    """Whether a vote on `poll` goes through the group commit: a new vote on a choose-one or
    question poll. A change, or an agree/disagree/pass vote, takes a transaction of its own
    (`polls.cast_poll_vote`)."""
    return not change and poll.kind != PollKind.AGREE


def submit(app: Flask, request: VoteRequest) -> dict[str, Any]:
    """Queue one vote and wait until its batch commits; raise DomainError on a refusal."""
    wait_for_batch(app, request)
    raise_refusal(request)
    return request.answer  # type: ignore[return-value]  # set when there is no refusal


def wait_for_batch(app: Flask, request: VoteRequest) -> None:
    """Queue one vote and wait until its batch commits: `request.answer` or `.refusal` is set.

    Needs no request context (the vote's fast path has none); a vote not written in time is
    marked `timeout`.
    """
    if not _batches.wait_for_batch(app, request):
        request.answer, request.refusal = None, "timeout"


def raise_refusal(request: VoteRequest) -> None:
    """Turn a batch's refusal into the DomainError the voter is sent (in the voter's locale)."""
    if request.refusal == "timeout":
        raise DomainError(
            _("The vote could not be recorded in time. Please try again."), code="timeout"
        )
    if request.refusal == "not_recorded":
        raise DomainError(
            _("Your vote was not recorded: the server could not save it. Please vote again."),
            code="not_recorded",
        )
    if request.refusal == "unauthenticated":
        raise Unauthenticated(_("Please log in again."))
    if request.refusal is not None or request.answer is None:
        raise polls.refusal(request.refusal or "server_error")


def _refuse_batch(batch: list[VoteRequest], error: Exception) -> None:
    # Nothing of the batch was committed, so every vote in it is refused (never acknowledged)
    # and the person votes again. The database being unreachable (PostgreSQL restarting) says
    # so; the pool's pre-ping gives the next batch a fresh connection, no restart needed.
    # Anything else is a bug: server_error.
    unreachable = is_database_outage(error)
    for request in batch:
        request.answer = None
        request.refusal = "not_recorded" if unreachable else "server_error"


def _tallies_changed(
    app: Flask, polls_written: dict[tuple[int, int], int], batch: list[VoteRequest]
) -> None:
    # Votes already queued for the next batch mean the burst goes on: the tally waits for
    # its gap rather than going out in the lull while that batch is written. A large batch
    # means a burst too, though nothing may be queued (SQLite's writes hold the whole
    # process, so nothing can queue meanwhile): a lull must then be longer to end it.
    more_coming = _batches.has_queued(app)
    in_burst = len(batch) >= BURST_BATCH
    for (poll_id, session_id), new_votes in polls_written.items():
        tallies.mark_dirty(
            app, poll_id, session_id, more_coming=more_coming, in_burst=in_burst,
            new_votes=new_votes,
        )  # fmt: skip


def _write(batch: list[VoteRequest], connection: Connection) -> dict[tuple[int, int], int]:
    """Write the batch at once (nothing of it, or all that is accepted); fill in each
    request's answer or refusal. Returns the new votes written, by (poll id, session id).

    Core statements only, on the writer's connection held for the run: through the ORM
    session each read cost 380-450 µs of a worker's CPU per batch, like this 120-150 (a
    one-vote batch on PostgreSQL, measured). PostgreSQL takes the whole batch as one
    statement in one round trip (`vote_statement`); SQLite as separate statements in one
    transaction."""
    now = utcnow()
    if connection.dialect.name == "postgresql":
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.execution_options(isolation_level="AUTOCOMMIT")  # no BEGIN, COMMIT
        written = vote_statement.write(connection, batch, now, VOTE_ACTION, VOTE_OBJECT)
        accepted = accept(batch, written.logins, written.open_polls)
        inserted = written.inserted
    else:
        with connection.begin():
            logins, open_polls = _logins_and_open_polls(connection, batch, now)
            accepted = accept(batch, logins, open_polls)
            inserted = _insert(accepted, connection, now)
    _refuse_repeats(accepted, inserted, connection)
    if connection.in_transaction():
        connection.commit()  # ends what the reads began (PostgreSQL: in autocommit, nothing)
    for key in inserted:
        request = accepted[key]
        request.answer = _answer(request, repeat=False)
    for request in batch:
        if request.refusal == "repeat":
            request.refusal = None
            request.answer = _answer(request, repeat=True)
    return Counter((accepted[key].poll_id, accepted[key].session_id) for key in inserted)


#: How each vote written is audited (`audit.record_many`'s rows).
VOTE_ACTION, VOTE_OBJECT = "roundtable.vote", "roundtable_poll"


def accept(
    batch: list[VoteRequest], logins: dict[int, tuple[str, bool]], open_polls: set[int]
) -> dict[tuple[int, int], VoteRequest]:
    """Per (poll, participant), the first vote of the batch with a valid login (the token the
    voter joined with, an active account) on an open poll; every other vote gets its refusal.
    (`vote_statement` accepts the same in SQL.)"""
    accepted: dict[tuple[int, int], VoteRequest] = {}
    for request in batch:
        token, active = logins.get(request.user_id, (None, False))
        if not active or token != request.session_token:
            request.refusal = "unauthenticated"
        elif request.poll_id not in open_polls:
            request.refusal = "poll_closed"
        elif (request.poll_id, request.participant_id) in accepted:
            accepted_first = accepted[(request.poll_id, request.participant_id)]
            request.refusal = polls.repeat_or_refusal(accepted_first.client_id, request.client_id)
        else:
            accepted[(request.poll_id, request.participant_id)] = request
    return accepted


def _logins_and_open_polls(
    connection: Connection, batch: list[VoteRequest], now: datetime
) -> tuple[dict[int, tuple[str, bool]], set[int]]:
    logins: dict[int, tuple[str, bool]] = {}
    open_polls: set[int] = set()
    for row in connection.execute(
        _LOGINS_AND_OPEN_POLLS,
        {
            "user_ids": list({r.user_id for r in batch}),
            "poll_ids": list({r.poll_id for r in batch}),
            "now": now,
        },
    ):
        if row.open_poll_id is None:
            logins[row.id] = (row.session_token, row.is_active_account)
        else:
            open_polls.add(row.open_poll_id)
    return logins, open_polls


def _insert(
    accepted: dict[tuple[int, int], VoteRequest], connection: Connection, now: datetime
) -> set[tuple[int, int]]:
    """The accepted votes and their audit entries; returns the keys of the votes written."""
    rows = bulk.insert_rows(
        PollVote.__table__,
        [
            {
                "poll_id": r.poll_id,
                "participant_id": r.participant_id,
                "client_id": r.client_id,
                "option_id": r.option_id,
                "member_category": r.member_category,
                "created_at": now,
                "updated_at": now,
            }
            for r in accepted.values()
        ],
        skip_duplicates=True,  # UNIQUE(poll, participant): a second vote is not written
        returning=(PollVote.poll_id, PollVote.participant_id),
        connection=connection,
    )
    inserted = {(row.poll_id, row.participant_id) for row in rows}
    audit.record_many(
        VOTE_ACTION,
        VOTE_OBJECT,
        [(accepted[key].poll_id, accepted[key].user_id) for key in inserted],
        connection=connection,
    )
    return inserted


def _refuse_repeats(
    accepted: dict[tuple[int, int], VoteRequest],
    inserted: set[tuple[int, int]],
    connection: Connection,
) -> None:
    """An accepted vote not written met the participant's earlier vote: a repeat of it (the
    same client id), or a second vote."""
    missing = [key for key in accepted if key not in inserted]
    if not missing:
        return
    existing = {
        (vote.poll_id, vote.participant_id): vote.client_id
        for vote in connection.execute(
            select(PollVote.poll_id, PollVote.participant_id, PollVote.client_id).where(
                PollVote.participant_id.in_({pid for _poll, pid in missing})
            )
        )
    }
    for key in missing:
        accepted[key].refusal = polls.repeat_or_refusal(existing.get(key), accepted[key].client_id)


_batches: Batcher[VoteRequest] = Batcher(
    "votes",
    _write,
    _refuse_batch,
    after=_tallies_changed,
    max_batch=MAX_BATCH,
    wait_s=WAIT_S,
    hold_connection=True,
)


def _answer(request: VoteRequest, repeat: bool) -> dict[str, Any]:
    return polls.vote_answer(
        request.poll_id, request.option_id, None, request.client_id, repeat=repeat
    )
