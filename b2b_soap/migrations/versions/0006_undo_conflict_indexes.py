"""index conflicts by incoming record and by person, for undoing a decision

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflicts_incoming_id'), ['incoming_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflicts_person_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_incoming_id'))
