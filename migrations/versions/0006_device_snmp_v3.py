"""devices: SNMP version and v3 (USM) credentials; the keys are encrypted by the app

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 03:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snmp_version', sa.String(length=4), server_default='2c',
                                      nullable=False))
        batch_op.add_column(sa.Column('snmp_user', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('snmp_auth_protocol', sa.String(length=10), nullable=True))
        # Ciphertext (supervisor/core/secretbox.py EncryptedString stores text).
        batch_op.add_column(sa.Column('snmp_auth_key', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('snmp_priv_protocol', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('snmp_priv_key', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('snmp_priv_key')
        batch_op.drop_column('snmp_priv_protocol')
        batch_op.drop_column('snmp_auth_key')
        batch_op.drop_column('snmp_auth_protocol')
        batch_op.drop_column('snmp_user')
        batch_op.drop_column('snmp_version')
