"""acceptance: runs, per-device results, reference candidates, coverage history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'acceptance_runs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('community_id', sa.Integer(), sa.ForeignKey('communities.id'), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('verdict', sa.String(length=10), nullable=True),
        sa.Column('run_by', sa.String(length=80), nullable=False),
        sa.Column('profile_name', sa.String(length=100), nullable=False),
        sa.Column('profile_version', sa.Integer(), nullable=False),
        sa.Column('profile_sha256', sa.String(length=64), nullable=False),
        sa.Column('devices_total', sa.Integer(), nullable=False),
        sa.Column('devices_done', sa.Integer(), nullable=False),
        sa.Column('coverage', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('certificate_path', sa.String(length=500), nullable=True),
        sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
    )
    op.create_index('ix_acceptance_runs_community_id', 'acceptance_runs', ['community_id'])
    op.create_table(
        'acceptance_results',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('acceptance_runs.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('serial', sa.String(length=100), nullable=False),
        sa.Column('verdict', sa.String(length=10), nullable=False),
        sa.Column('checks', sa.JSON(), nullable=False),
        sa.Column('frame_path', sa.String(length=500), nullable=True),
        sa.Column('measures', sa.JSON(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_acceptance_results_run_id', 'acceptance_results', ['run_id'])
    op.create_index('ix_acceptance_results_device_id', 'acceptance_results', ['device_id'])
    op.create_table(
        'reference_candidates',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('acceptance_runs.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('diagnosis', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('evidence_frame_id', sa.Integer(),
                  sa.ForeignKey('evidence_frames.id', ondelete='SET NULL'), nullable=True),
    )
    op.create_index('ix_reference_candidates_device_id', 'reference_candidates', ['device_id'])
    op.create_index('ix_reference_candidates_run_id', 'reference_candidates', ['run_id'])
    op.create_table(
        'coverage_snapshots',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('community_id', sa.Integer(), sa.ForeignKey('communities.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('required', sa.Integer(), nullable=False),
        sa.Column('filled', sa.Integer(), nullable=False),
        sa.Column('figure', sa.Float(), nullable=True),
        sa.Column('slots', sa.JSON(), nullable=False),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('acceptance_runs.id', ondelete='SET NULL'),
                  nullable=True),
    )
    op.create_index('ix_coverage_snapshots_community_id', 'coverage_snapshots', ['community_id'])
    op.create_index('ix_coverage_snapshots_at', 'coverage_snapshots', ['at'])


def downgrade():
    op.drop_table('coverage_snapshots')
    op.drop_table('reference_candidates')
    op.drop_table('acceptance_results')
    op.drop_table('acceptance_runs')
