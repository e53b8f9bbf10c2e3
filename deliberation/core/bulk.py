"""Many rows in one INSERT whose text does not depend on how many (the group commit's batches).

An INSERT of N rows through SQLAlchemy's `executemany` becomes one statement with a VALUES
row and eight named parameters per row, so its text changes with every batch size. psycopg
rewrites a statement's named parameters in Python and caches the result only for texts under
4 KB: a 500-vote batch was rewritten from scratch every time (py-spy, 5,000 people voting
within a second on two workers: `_split_query` was 10 % of the workers' time). On PostgreSQL
the rows travel instead as one array per column, turned back into rows by `unnest`: a short
text, the same for every batch, which psycopg caches and the server prepares once.

SQLite (the embedded default, one process) keeps the ordinary executemany.
"""

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from deliberation.extensions import db


def insert_rows(
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_duplicates: bool = False,
    returning: Sequence[ColumnElement[Any]] = (),
    connection: Connection | None = None,
) -> list[Any]:
    """Insert `rows` (dicts with the same keys) in one statement; a row breaking a UNIQUE
    constraint is skipped when `skip_duplicates`. Returns the `returning` columns of the rows
    that went in (an empty list without `returning`). On `connection`, in its transaction, or
    else in the session's."""
    if not rows:
        return []
    columns = list(rows[0])
    connection = connection or _connection()
    if connection.dialect.name == "postgresql":
        statement = _unnest_insert(table, tuple(columns), skip_duplicates, tuple(returning))
        arrays = {f"{name}_rows": [row[name] for row in rows] for name in columns}
        result = connection.execute(statement, arrays)
        return list(result) if returning else []

    statement = sqlite_insert(table) if skip_duplicates else insert(table)
    if skip_duplicates:
        statement = statement.on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*returning)
    result = connection.execute(statement, list(rows))
    return list(result) if returning else []


def _connection() -> Connection:
    """The session's connection, in its transaction, after a flush of anything pending (what
    `db.session.execute` does first). Core statements run on it skip the ORM's execution
    path: 120-190 µs of CPU each instead of 160-450 (a vote batch, PostgreSQL, measured)."""
    db.session.flush()
    return db.session.connection()


@functools.cache
def _unnest_insert(
    table: Table,
    columns: tuple[str, ...],
    skip_duplicates: bool,
    returning: tuple[ColumnElement[Any], ...],
) -> Any:
    """PostgreSQL's INSERT … SELECT unnest(…) for these columns, built once: the values come
    as parameters, one array per column (building the expression for every batch of votes
    was about 4 % of a worker's time in a 5,000-person poll)."""
    arrays = [
        func.unnest(
            cast(
                bindparam(f"{name}_rows", type_=ARRAY(table.c[name].type)),
                ARRAY(table.c[name].type),
            )
        )
        for name in columns
    ]
    statement: Any = postgresql_insert(table).from_select(list(columns), select(*arrays))
    if skip_duplicates:
        statement = statement.on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*returning)
    return statement
