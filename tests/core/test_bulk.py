"""Batch inserts: one statement for many rows, duplicates skipped, the same text for any size."""

from sqlalchemy import event, func, select

from deliberation.core import audit, bulk
from deliberation.extensions import db
from deliberation.roundtables.models import RoundtableTable, TableKind
from tests.conftest import all_on_postgres
from tests.roundtables.helpers import build_session


def test_insert_rows_skips_duplicates_and_returns_only_what_went_in(app_ctx):
    session_id = build_session(participants=0, facilitators=0)["session_id"]
    table = RoundtableTable.__table__
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO ROUNDTABLE_TABLES"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        first = bulk.insert_rows(
            table,
            [{"session_id": session_id, "number": n, "kind": TableKind.HALL} for n in (1, 2)],
            skip_duplicates=True,
            returning=(table.c.number, table.c.kind),
        )
        second = bulk.insert_rows(
            table,
            [
                {"session_id": session_id, "number": n, "kind": TableKind.ONLINE}
                for n in range(1, 6)
            ],
            skip_duplicates=True,
            returning=(table.c.number, table.c.kind),
        )
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sorted(row.number for row in first) == [1, 2]
    assert sorted(row.number for row in second) == [3, 4, 5]  # 1 and 2 were already there
    assert {row.kind for row in second} == {TableKind.ONLINE}
    kinds = dict(
        db.session.execute(
            select(RoundtableTable.number, RoundtableTable.kind).where(
                RoundtableTable.session_id == session_id
            )
        ).all()
    )
    assert kinds == {1: TableKind.HALL, 2: TableKind.HALL, 3: TableKind.ONLINE,
                     4: TableKind.ONLINE, 5: TableKind.ONLINE}  # fmt: skip
    if db.engine.dialect.name == "postgresql":
        # Two rows or five: one short text, which psycopg caches and the server prepares.
        assert len(statements) == 2
        assert statements[0] == statements[1]
        assert all(len(s) < 4096 for s in statements)


def test_record_many_writes_one_audit_entry_per_object(app_ctx):
    before = db.session.scalar(select(func.count(audit.AuditEntry.id)))
    audit.record_many("roundtable.vote", "roundtable_poll", [(7, None), (7, None), (8, None)])
    db.session.commit()
    rows = db.session.execute(
        select(audit.AuditEntry.object_id, audit.AuditEntry.action, audit.AuditEntry.details)
        .order_by(audit.AuditEntry.id)
        .offset(before)
    ).all()
    assert [(r.object_id, r.action, r.details) for r in rows] == [
        ("7", "roundtable.vote", {}),
        ("7", "roundtable.vote", {}),
        ("8", "roundtable.vote", {}),
    ]
    assert bulk.insert_rows(audit.AuditEntry.__table__, []) == []


def test_each_run_of_a_features_test_is_on_the_database_its_name_says(app, request):
    """`make test` (--both-databases) names each run of these tests [sqlite] or [postgresql];
    the app of each must be on that database, or the PostgreSQL run proves nothing."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None:
        expected = callspec.params["database"]
    else:
        expected = "postgresql" if all_on_postgres(request.config) else "sqlite"
    with app.app_context():
        assert db.engine.dialect.name == expected
