"""sweep_runs: the platform's own load during the run (event-loop lag, checks not measured)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sweep_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sweep_runs', schema=None) as batch_op:
        batch_op.drop_column('platform')
