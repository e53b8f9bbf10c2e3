"""roundtable broadcasts: the lead's messages to every table, kept

Revision ID: 9a7c3e15b2d4
Revises: 5e2d8a41c7b3
Create Date: 2026-12-05 03:15:00.000000

Issue 14: a broadcast keeps a history; the console lists the latest after a reload.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a7c3e15b2d4'
down_revision = '5e2d8a41c7b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('roundtable_broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_roundtable_broadcasts_author_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['roundtable_sessions.id'], name=op.f('fk_roundtable_broadcasts_session_id_roundtable_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roundtable_broadcasts'))
    )
    with op.batch_alter_table('roundtable_broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roundtable_broadcasts_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('roundtable_broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roundtable_broadcasts_session_id'))

    op.drop_table('roundtable_broadcasts')
