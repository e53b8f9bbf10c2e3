"""one table facilitator a table

Revision ID: 5e1f7c2a9b34
Revises: a378b78b6ad5
Create Date: 2026-12-05 02:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f7c2a9b34'
down_revision = 'a378b78b6ad5'
branch_labels = None
depends_on = None

WHERE = "role = 'TABLE_FACILITATOR' AND table_id IS NOT NULL"


def upgrade():
    # Written by hand, reviewed: a partial UNIQUE index (SQLite and PostgreSQL alike). A
    # session seated before this rule with two facilitators at a table keeps the lower id.
    op.execute(
        "UPDATE roundtable_participants SET table_id = NULL WHERE role = 'TABLE_FACILITATOR' "
        "AND table_id IS NOT NULL AND id NOT IN (SELECT MIN(id) FROM roundtable_participants "
        "WHERE role = 'TABLE_FACILITATOR' AND table_id IS NOT NULL GROUP BY table_id)"
    )
    op.create_index(
        'uq_roundtable_participants_one_facilitator_a_table',
        'roundtable_participants',
        ['table_id'],
        unique=True,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade():
    op.drop_index(
        'uq_roundtable_participants_one_facilitator_a_table',
        table_name='roundtable_participants',
    )
