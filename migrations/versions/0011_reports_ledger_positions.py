"""reports: ledger closings, waivers, adjustments, PDF archive; devices: retirement date and
camera position/view columns

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('heading_deg', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('fov_deg', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('range_m', sa.Float(), nullable=True))
    op.create_table(
        'ledger_closings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contract_id', sa.Integer(), sa.ForeignKey('contracts.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('content_sha256', sa.String(64), nullable=False),
        sa.Column('payable', sa.Numeric(14, 2), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=False),
        sa.Column('closed_by', sa.String(80)),
        sa.UniqueConstraint('contract_id', 'month', name='uq_ledger_closings_month'),
    )
    op.create_table(
        'ledger_waivers',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contract_id', sa.Integer(), sa.ForeignKey('contracts.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('line_key', sa.String(200), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
        sa.Column('waived_by', sa.String(80)),
        sa.Column('waived_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('contract_id', 'month', 'line_key', name='uq_ledger_waivers_line'),
    )
    op.create_table(
        'ledger_adjustments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contract_id', sa.Integer(), sa.ForeignKey('contracts.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('corrects_month', sa.Date(), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
        sa.Column('detail', sa.JSON()),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(80)),
    )
    op.create_table(
        'report_archive',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('month', sa.Date(), nullable=False, index=True),
        sa.Column('contract_code', sa.String(100)),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(100)),
        sa.Column('path', sa.String(500)),
        sa.Column('sha256', sa.String(64)),
        sa.Column('bytes', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(500)),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime()),
    )


def downgrade():
    op.drop_table('report_archive')
    op.drop_table('ledger_adjustments')
    op.drop_table('ledger_waivers')
    op.drop_table('ledger_closings')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        for col in ('range_m', 'fov_deg', 'heading_deg', 'longitude', 'latitude', 'retired_on'):
            batch_op.drop_column(col)
