"""reports: contract events police record for the payment rules (missed inspection, falsified
report ...); clock checks per local day (clock_day_rollups)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contract_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contract_id', sa.Integer(), sa.ForeignKey('contracts.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('rule', sa.String(60), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('community_id', sa.Integer(), sa.ForeignKey('communities.id'), nullable=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('recorded_by', sa.String(80), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_contract_events_contract_at', 'contract_events',
                    ['contract_id', 'occurred_at'])
    # Filled from the raw samples that still exist by the `report:clock_rollup` job (and
    # `flask report clock-rollup`): the local days and the tolerance come from the settings
    # and the standard profile, which a migration does not read.
    op.create_table(
        'clock_day_rollups',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('tolerance_s', sa.Float(), nullable=False),
        sa.Column('checks', sa.Integer(), nullable=False),
        sa.Column('ok', sa.Integer(), nullable=False),
        sa.Column('worst_abs_offset_s', sa.Float(), nullable=True),
        sa.Column('rolled_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('device_id', 'day', name='uq_clock_day_rollups_device_day'),
    )
    op.create_index('ix_clock_day_rollups_day', 'clock_day_rollups', ['day'])


def downgrade():
    op.drop_index('ix_clock_day_rollups_day', table_name='clock_day_rollups')
    op.drop_table('clock_day_rollups')
    op.drop_index('ix_contract_events_contract_at', table_name='contract_events')
    op.drop_table('contract_events')
