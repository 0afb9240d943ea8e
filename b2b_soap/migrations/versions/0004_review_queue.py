"""index incoming_records by base and SIMS GUID, for one open review item per pupil

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incoming_records_base_id_sims_guid_status'),
                              ['base_id', 'sims_guid', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incoming_records_base_id_sims_guid_status'))
