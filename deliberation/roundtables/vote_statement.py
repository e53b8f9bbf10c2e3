"""A batch of room-poll votes written by one PostgreSQL statement, in one round trip.

Written as separate statements a batch took five round trips to PostgreSQL (BEGIN, the
logins and open polls, the votes, their audit entries, COMMIT), each a wake-up of the server
process and then of the worker. With two workers at 3,000 people voting within a second,
the two cores were full and every wake-up could wait for one: py-spy found the workers
waiting to run again mostly right after those sends. Here the batch's checks are SQL, in
one statement that commits by itself:

- `requests`: the batch, one array per field (the text is the same whatever its size, so
  the server plans it once per connection);
- `open_polls`: the batch's polls that are open, share-locked so a close waits for it;
- `logins`: the voters' accounts, to check each vote's login again (a logout between the
  vote and its batch);
- `accepted`: per (poll, participant), the first vote of the batch with a valid login on an
  open poll, as `ballotbox.accept` decides;
- `inserted`: those votes, but a second vote of a participant (UNIQUE) is not written;
- `audited`: an audit entry per vote written (`audit.record_many`'s rows).

It returns the logins, the open polls and the votes written, from which `ballotbox` words
each vote's answer or refusal. SQLite (the embedded default: one process, no round trips)
keeps `ballotbox`'s separate statements in one transaction.
"""

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import (
    Integer,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from deliberation.accounts.models import User
from deliberation.core.audit import AuditEntry
from deliberation.roundtables.models import Poll, PollVote
from deliberation.roundtables.polls import poll_is_open


class Written(NamedTuple):
    """What the statement found and did."""

    #: User id -> (session token, active) of the batch's voters.
    logins: dict[int, tuple[str, bool]]
    open_polls: set[int]
    #: (poll id, participant id) of each vote written.
    inserted: set[tuple[int, int]]


def write(
    connection: Connection, batch: Sequence[Any], now: datetime, action: str, object_type: str
) -> Written:
    """Write `batch` (ballotbox.VoteRequest) in one statement; the connection must be in
    autocommit (the statement is its own transaction).

    The statement runs on the driver's cursor, compiled once (`_Compiled`): through
    `Connection.execute` a batch cost the worker about 250 µs of CPU, most of it SQLAlchemy's
    execution context and result (3-vote batches on the test PostgreSQL), and on the cursor
    about 80 µs. A driver's error is raised as SQLAlchemy's, as by `Connection.execute`."""
    compiled = _compiled(connection.dialect)
    values: dict[str, Any] = {
        f"{name}_rows": [getattr(request, name) for request in batch]
        for name in _REQUEST_TYPES
        if name != "n"
    }
    values["n_rows"] = list(range(len(batch)))
    values |= {
        "user_ids": list({request.user_id for request in batch}),
        "poll_ids": list({request.poll_id for request in batch}),
        "now": now,
        "action": action,
        "object_type": object_type,
    }
    driver = connection.connection.driver_connection
    parameters = compiled.parameters(values)
    try:
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(compiled.text, parameters, prepare=True)
            rows = cursor.fetchall()
    except psycopg.Error as error:
        # As `Connection.execute` would: SQLAlchemy's exception for the driver's (callers
        # tell an outage from a bug by it, `is_database_outage`), and a lost connection
        # invalidated so the next batch gets a fresh one.
        lost = bool(driver.broken)  # type: ignore[union-attr]
        if lost:
            connection.invalidate()
        raise DBAPIError.instance(
            compiled.text, parameters, error, psycopg.Error, connection_invalidated=lost
        ) from error
    found = Written({}, set(), set())
    for kind, user_id, session_token, is_active_account, poll_id, participant_id in rows:
        if kind == "login":
            found.logins[user_id] = (session_token, is_active_account)
        elif kind == "open":
            found.open_polls.add(poll_id)
        else:
            found.inserted.add((poll_id, participant_id))
    return found


class _Compiled:
    """The statement as the driver takes it: its text, and how each parameter is converted
    (what SQLAlchemy does at every execution, done here once per dialect)."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = _statement().compile(dialect=dialect)
        self.text = compiled.string
        #: Parameter name -> its type's conversion (None: taken as it is).
        self.converters: dict[str, Callable[[Any], Any] | None] = {}
        #: The statement's own values (its constants), converted.
        self.constants: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            converter = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.callable is None and bind.value is not None:
                self.constants[name] = converter(bind.value) if converter else bind.value
            else:
                self.converters[name] = converter

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        converted = dict(self.constants)
        for name, converter in self.converters.items():
            converted[name] = converter(values[name]) if converter else values[name]
        return converted


_COMPILED: dict[tuple[type, str], _Compiled] = {}


def _compiled(dialect: Dialect) -> _Compiled:
    """Per kind of dialect (not per engine: tests make many)."""
    key = (type(dialect), dialect.paramstyle)
    if key not in _COMPILED:
        _COMPILED[key] = _Compiled(dialect)
    return _COMPILED[key]


#: A request's fields as the statement gets them, each an array of this type; `n` is the
#: request's place in the batch.
_REQUEST_TYPES: dict[str, Any] = {
    "poll_id": Integer(),
    "participant_id": Integer(),
    "user_id": Integer(),
    "session_token": User.__table__.c.session_token.type,
    "client_id": PollVote.__table__.c.client_id.type,
    "option_id": Integer(),
    "member_category": PollVote.__table__.c.member_category.type,
    "n": Integer(),
}


@functools.cache
def _statement() -> Any:
    """The statement (module docstring), built once."""
    votes, entries = PollVote.__table__, AuditEntry.__table__
    requests = select(
        *[
            func.unnest(cast(bindparam(f"{name}_rows", type_=ARRAY(kind)), ARRAY(kind))).label(name)
            for name, kind in _REQUEST_TYPES.items()
        ]
    ).cte("requests")
    now = bindparam("now", type_=votes.c.created_at.type)
    open_polls = (
        select(Poll.id)
        .where(Poll.id == any_(bindparam("poll_ids", type_=ARRAY(Integer()))), poll_is_open(now))
        .with_for_update(read=True)
        .cte("open_polls")
    )
    logins = (
        select(User.id, User.session_token, User.is_active_account)
        .where(User.id == any_(bindparam("user_ids", type_=ARRAY(Integer()))))
        .cte("logins")
    )
    accepted = (
        select(requests)
        .join(
            logins,
            and_(
                logins.c.id == requests.c.user_id,
                logins.c.is_active_account,
                logins.c.session_token == requests.c.session_token,
            ),
        )
        .join(open_polls, open_polls.c.id == requests.c.poll_id)
        .ext(distinct_on(requests.c.poll_id, requests.c.participant_id))  # the first
        .order_by(requests.c.poll_id, requests.c.participant_id, requests.c.n)
        .cte("accepted")
    )
    vote_columns = ("poll_id", "participant_id", "client_id", "option_id", "member_category")
    inserted = (
        postgresql_insert(votes)
        .from_select(
            [*vote_columns, "created_at", "updated_at"],
            select(*[accepted.c[name] for name in vote_columns], now, now),
        )
        .on_conflict_do_nothing()  # UNIQUE(poll, participant): a second vote is not written
        .returning(votes.c.poll_id, votes.c.participant_id)
        .cte("inserted")
    )
    audited = insert(entries).from_select(
        ["created_at", "actor_id", "action", "object_type", "object_id", "details"],
        select(
            now,
            accepted.c.user_id,
            bindparam("action", type_=entries.c.action.type),
            bindparam("object_type", type_=entries.c.object_type.type),
            cast(inserted.c.poll_id, entries.c.object_id.type),
            literal({}, entries.c.details.type),
        ).select_from(
            inserted.join(
                accepted,
                and_(
                    accepted.c.poll_id == inserted.c.poll_id,
                    accepted.c.participant_id == inserted.c.participant_id,
                ),
            )
        ),
    )
    # Typed NULLs: PostgreSQL types a column of two untyped NULLs as text.
    no_id, no_token = cast(null(), Integer()), cast(null(), _REQUEST_TYPES["session_token"])
    no_flag = cast(null(), User.__table__.c.is_active_account.type)
    return union_all(
        select(
            literal_column("'login'").label("kind"),
            logins.c.id.label("user_id"),
            logins.c.session_token,
            logins.c.is_active_account,
            no_id.label("poll_id"),
            no_id.label("participant_id"),
        ),
        select(literal_column("'open'"), no_id, no_token, no_flag, open_polls.c.id, no_id),
        select(
            literal_column("'written'"),
            no_id,
            no_token,
            no_flag,
            inserted.c.poll_id,
            inserted.c.participant_id,
        ),
    ).add_cte(audited.cte("audited"))
