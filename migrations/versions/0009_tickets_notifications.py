"""tickets, ticket events/devices/attachments, working calendar versions, notification
outbox/recipients/deliveries; devices.recorded_by_id (the NVR that records a camera)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_devices_recorded_by_id', ['recorded_by_id'])
        batch_op.create_foreign_key('fk_devices_recorded_by_id', 'devices', ['recorded_by_id'], ['id'])

    op.create_table(
        'work_calendars',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('effective_from', sa.DateTime(), nullable=False),
        sa.Column('tz', sa.String(64), nullable=False),
        sa.Column('source', sa.String(100), nullable=False),
        sa.Column('days', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'tickets',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=False),
        sa.Column('contract_id', sa.Integer(), sa.ForeignKey('contracts.id'), nullable=True),
        sa.Column('community_id', sa.Integer(), sa.ForeignKey('communities.id'), nullable=True),
        sa.Column('family', sa.String(40), nullable=False),
        sa.Column('source', sa.String(20), nullable=False),
        sa.Column('title', sa.String(300), nullable=False),
        sa.Column('severity', sa.String(20), nullable=False),
        sa.Column('policy', sa.String(120), nullable=False),
        sa.Column('calendar_id', sa.Integer(), sa.ForeignKey('work_calendars.id'), nullable=False),
        sa.Column('state', sa.String(20), nullable=False),
        sa.Column('outcome', sa.String(20), nullable=True),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('opened_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('escalated', sa.Boolean(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=True),
        sa.Column('response_due_at', sa.DateTime(), nullable=True),
        sa.Column('repair_due_at', sa.DateTime(), nullable=True),
        sa.Column('response_used_s', sa.Float(), nullable=True),
        sa.Column('repair_used_s', sa.Float(), nullable=True),
        sa.Column('breached', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.JSON(), nullable=True),
        sa.Column('clock_at', sa.DateTime(), nullable=True),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_tickets_device_id', 'tickets', ['device_id'])
    op.create_index('ix_tickets_community_id', 'tickets', ['community_id'])
    op.create_index('ix_tickets_state', 'tickets', ['state'])
    op.create_index('ix_tickets_opened_at', 'tickets', ['opened_at'])
    op.create_index('ix_tickets_repair_due_at', 'tickets', ['repair_due_at'])
    op.create_index('ix_tickets_contract_state', 'tickets', ['contract_id', 'state'])
    op.create_index('uq_tickets_open_device_family', 'tickets', ['device_id', 'family'], unique=True,
                    sqlite_where=sa.text('closed_at IS NULL'),
                    postgresql_where=sa.text('closed_at IS NULL'))
    op.create_table(
        'ticket_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(30), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('ticket_id', 'seq', name='uq_ticket_events_seq'),
    )
    op.create_index('ix_ticket_events_ticket_id', 'ticket_events', ['ticket_id'])
    op.create_table(
        'ticket_devices',
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), primary_key=True),
        sa.Column('relation', sa.String(20), nullable=False),
    )
    op.create_table(
        'ticket_attachments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('stored', sa.String(200), nullable=False),
        sa.Column('thumb', sa.String(200), nullable=False),
        sa.Column('content_type', sa.String(50), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_ticket_attachments_ticket_id', 'ticket_attachments', ['ticket_id'])
    op.create_table(
        'notification_recipients',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('contractor_id', sa.Integer(), sa.ForeignKey('contractors.id'), nullable=True),
        sa.Column('channel', sa.String(20), nullable=False),
        sa.Column('address', sa.String(500), nullable=False),
        sa.Column('format', sa.String(20), nullable=False),
        sa.Column('quiet_hours', sa.String(20), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_notification_recipients_contractor_id', 'notification_recipients', ['contractor_id'])
    op.create_table(
        'notification_outbox',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(30), nullable=False),
        sa.Column('recipient_id', sa.Integer(), sa.ForeignKey('notification_recipients.id'), nullable=False),
        sa.Column('contractor_id', sa.Integer(), sa.ForeignKey('contractors.id'), nullable=True),
        sa.Column('severity', sa.String(20), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.UniqueConstraint('ticket_id', 'event_seq', 'recipient_id', name='uq_outbox_event_recipient'),
    )
    op.create_index('ix_notification_outbox_ticket_id', 'notification_outbox', ['ticket_id'])
    op.create_index('ix_notification_outbox_status', 'notification_outbox', ['status'])
    op.create_index('ix_notification_outbox_next_attempt_at', 'notification_outbox', ['next_attempt_at'])
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('outbox_id', sa.Integer(), sa.ForeignKey('notification_outbox.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
    )
    op.create_index('ix_notification_deliveries_outbox_id', 'notification_deliveries', ['outbox_id'])


def downgrade():
    for name in ('notification_deliveries', 'notification_outbox', 'notification_recipients',
                 'ticket_attachments', 'ticket_devices', 'ticket_events', 'tickets', 'work_calendars'):
        op.drop_table(name)
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_constraint('fk_devices_recorded_by_id', type_='foreignkey')
        batch_op.drop_index('ix_devices_recorded_by_id')
        batch_op.drop_column('recorded_by_id')
