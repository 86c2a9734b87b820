"""drop probe_samples (device_id, at) index: the unique (device_id, tier, at) serves it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:26:00

"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('probe_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_probe_samples_device_at')


def downgrade():
    with op.batch_alter_table('probe_samples', schema=None) as batch_op:
        batch_op.create_index('ix_probe_samples_device_at', ['device_id', 'at'], unique=False)
