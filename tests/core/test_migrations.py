"""Migrations: one Alembic head; `flask db upgrade` on an empty database gives the models; the
data migration that gives back plain text as typed (rows escaped by the earlier plain_text)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import bleach
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from deliberation.accounts.models import Role
from deliberation.agendas import services as agendas
from deliberation.extensions import db
from deliberation.roundtables import polls, sessions, tables, themes
from deliberation.roundtables.models import ParticipantRole, Phase, PollKind, ThemeDestination
from deliberation.summaries.services import refresh_summary
from tests.factories import make_division, make_user
from tests.roundtables.helpers import cid

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _scripts() -> ScriptDirectory:
    config = AlembicConfig(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def test_there_is_exactly_one_alembic_head():
    heads = _scripts().get_heads()
    assert len(heads) == 1, heads


def test_upgrade_on_an_empty_database_yields_the_models_schema(app, tmp_path):
    db_file = tmp_path / "migrated.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": f"sqlite:///{db_file}", "PATH": "/usr/bin:/bin", "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as connection, app.app_context():
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    engine.dispose()
    assert differences == [], differences


def _migration_module(name: str):
    (path,) = (PROJECT_ROOT / "migrations" / "versions").glob(f"*_{name}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAIN_TEXT = _migration_module("dff9eb5cd9d2")
TYPED = '1 < 2 & "R&D" <3 &copy;'


def _flask_db(url: str, *args: str) -> None:
    """`flask db ...` in its own process, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _seed_typed_text() -> None:
    """TYPED in every plain-text column, through the services: an agenda item with a flagged
    and hidden comment, and a closed roundtable about it whose theme became a proposal."""
    division = make_division()
    lead, facilitator = make_user(Role.FACILITATOR), make_user(Role.FACILITATOR)
    citizen = make_user()
    item = agendas.propose_item(citizen, division_id=division.id, title=TYPED, body="About.")
    agendas.start_discussion(lead, item.id)
    comment, _created = agendas.post_comment(citizen, item.id, "A comment", client_id=cid())
    agendas.flag_comment(facilitator, comment.id, TYPED)
    agendas.hide_comment(lead, comment.id, TYPED)
    session = sessions.create_session(
        lead,
        division=division,
        title=TYPED,
        table_size=6,
        agenda_item_ids=[item.id],
        theme_destination=ThemeDestination.PROPOSAL,
    )
    session.open_lobby()
    table_lead = sessions.register(session, facilitator, ParticipantRole.TABLE_FACILITATOR)
    seat = sessions.register(session, citizen)
    sessions.seat_room(lead, session)
    sessions.start_session(lead, session)
    sessions.set_phase(lead, session, Phase.DISCUSSION)
    tables.send_chat(session, seat, TYPED, cid())
    idea = tables.add_idea(session, table_lead, table_lead.table_id, TYPED, cid())
    sessions.set_phase(lead, session, Phase.SUBMISSIONS)
    tables.submit_ideas(session, table_lead, table_lead.table_id)
    sessions.set_phase(lead, session, Phase.SYNTHESIS)
    themes.create_theme(lead, session, None, TYPED, TYPED, [idea["id"]])
    themes.publish_themes(lead, session, None)
    sessions.set_phase(lead, session, Phase.POLL)
    polls.close_poll(lead, polls.open_poll(lead, session, PollKind.QUESTION, TYPED, [TYPED, "No"]))
    agree = polls.open_poll(lead, session, PollKind.AGREE, "Agree?")
    stances = {str(agree.options[0].id): "agree"}
    polls.cast_poll_vote(
        polls.get_poll_for_vote(session.id, agree.id), seat, cid(), stances=stances
    )
    polls.close_poll(lead, agree)
    assert sessions.close_session(lead, session).proposals
    refresh_summary(item.id)
    db.session.commit()


def _dump(url: str) -> dict:
    """Every plain-text column, proposal snapshot and cached summary, by table."""
    engine = create_engine(url)
    with engine.connect() as connection:
        dump = {
            table: [
                tuple(row)
                for row in connection.execute(
                    text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
                )
            ]
            for table, columns in PLAIN_TEXT.PLAIN_TEXT_COLUMNS.items()
        }
        for table, column in (("proposals", "snapshot"), ("summary_caches", "data")):
            rows = connection.execute(text(f"SELECT {column} FROM {table} ORDER BY id"))
            dump[f"{table}.{column}"] = [  # PostgreSQL reads JSON columns as JSON already
                value if isinstance(value, dict) else json.loads(value) for (value,) in rows
            ]
    engine.dispose()
    return dump


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for v in value for s in _strings(v)] if isinstance(value, list | tuple) else []


def test_rows_stored_escaped_get_back_the_text_as_typed(app):
    """Rows written before plain text was kept as typed hold bleach's escaping (the form the
    migration's downgrade writes): `flask db upgrade` gives back the text as typed, and changes
    nothing else."""
    with app.app_context():
        _seed_typed_text()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    typed = _dump(url)
    columns = [
        (t, i) for t, names in PLAIN_TEXT.PLAIN_TEXT_COLUMNS.items() for i in range(len(names))
    ]
    for table, i in columns:
        assert TYPED in [row[i] for row in typed[table]], (table, i)
    frozen = typed["proposals.snapshot"] + typed["summary_caches.data"]
    assert _strings(frozen).count(TYPED) >= 8  # theme, roundtable, idea, poll texts, item title

    with app.app_context():  # the database as the revision before left it
        with db.engine.begin() as connection:
            PLAIN_TEXT.convert_all(connection, PLAIN_TEXT.as_before)
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(
                text("INSERT INTO alembic_version VALUES (:v)"), {"v": PLAIN_TEXT.down_revision}
            )
        db.session.remove()
        db.engine.dispose()
    escaped = _dump(url)
    old_form = '1 &lt; 2 &amp; "R&amp;D" &lt;3 &copy;'
    assert bleach.clean(TYPED, tags=set(), strip=True) == old_form  # the earlier plain_text
    for table, i in columns:
        assert old_form in [row[i] for row in escaped[table]], (table, i)
    frozen_escaped = escaped["proposals.snapshot"] + escaped["summary_caches.data"]
    assert _strings(frozen_escaped).count(old_form) == _strings(frozen).count(TYPED)
    assert TYPED not in _strings(escaped)

    # Only up to this revision: the tables of later revisions exist already (create_all).
    _flask_db(url, "upgrade", PLAIN_TEXT.revision)
    assert _dump(url) == typed
