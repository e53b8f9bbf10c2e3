"""Migrations: one Alembic head; `flask db upgrade` on an empty database gives the models."""

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from deliberation.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_there_is_exactly_one_alembic_head():
    config = AlembicConfig(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
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
