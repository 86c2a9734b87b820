"""health: per-camera image calibration (learned normal range) and the frames it learns from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'quality_calibrations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('learned_at', sa.DateTime(), nullable=False),
        sa.Column('first_frame_at', sa.DateTime(), nullable=False),
        sa.Column('last_frame_at', sa.DateTime(), nullable=False),
        sa.Column('frames_day', sa.Integer(), nullable=False),
        sa.Column('frames_night', sa.Integer(), nullable=False),
        sa.Column('clean_days', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('superseded_at', sa.DateTime(), nullable=True),
        sa.Column('superseded_reason', sa.String(20), nullable=True),
        sa.Column('superseded_by', sa.String(80), nullable=True),
    )
    op.create_index('ix_quality_calibrations_device_id', 'quality_calibrations', ['device_id'])
    # At most one calibration in force per device; superseded rows are history.
    op.create_index('uq_quality_calibrations_current', 'quality_calibrations', ['device_id'],
                    unique=True, sqlite_where=sa.text('superseded_at IS NULL'),
                    postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_table(
        'quality_calibration_frames',
        sa.Column('id', _BIG_ID, primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('night', sa.Boolean(), nullable=False),
        sa.Column('faults', sa.JSON(), nullable=True),
        sa.Column('measures', sa.JSON(), nullable=False),
        sa.UniqueConstraint('device_id', 'at', name='uq_quality_calibration_frames_device_at'),
    )


def downgrade():
    op.drop_table('quality_calibration_frames')
    op.drop_index('uq_quality_calibrations_current', table_name='quality_calibrations')
    op.drop_index('ix_quality_calibrations_device_id', table_name='quality_calibrations')
    op.drop_table('quality_calibrations')
