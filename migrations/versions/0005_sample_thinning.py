"""sample thinning: probe_samples.weight, device_status.last_kept_at / fast_skipped

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 02:32:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('probe_samples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('device_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_kept_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('fast_skipped', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('device_status', schema=None) as batch_op:
        batch_op.drop_column('fast_skipped')
        batch_op.drop_column('last_kept_at')
    with op.batch_alter_table('probe_samples', schema=None) as batch_op:
        batch_op.drop_column('weight')
