"""index incoming_records by name, for the Unmatched list sorted by name

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incoming_records_status_kind_surname_forename_id'),
                              ['status', 'kind', 'surname', 'forename', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incoming_records_status_kind_surname_forename_id'))
