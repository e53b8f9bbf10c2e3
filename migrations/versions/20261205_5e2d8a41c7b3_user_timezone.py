"""user time zone: the zone a person reads times in

Revision ID: 5e2d8a41c7b3
Revises: 1361c90a93b2
Create Date: 2026-12-05 03:05:00.000000

Issue 14: times in the viewer's time zone, per person. Empty (NULL) means the site's
DEFAULT_TIMEZONE, so nobody's page changes until they choose a zone on their profile.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2d8a41c7b3'
down_revision = '1361c90a93b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('timezone')
