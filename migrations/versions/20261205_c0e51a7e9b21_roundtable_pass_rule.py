"""roundtable pass rule: at least or more than the threshold

Revision ID: c0e51a7e9b21
Revises: 38de5bf612ac
Create Date: 2026-12-05 02:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0e51a7e9b21'
down_revision = '38de5bf612ac'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('roundtable_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pass_rule', sa.Enum('AT_LEAST', 'MORE_THAN', name='passrule', native_enum=False, length=20), server_default='AT_LEAST', nullable=False))


def downgrade():
    with op.batch_alter_table('roundtable_sessions', schema=None) as batch_op:
        batch_op.drop_column('pass_rule')
