"""index incoming_records for every Unmatched list order (with dob, for B2B_S_AGE) and for name search

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# (old columns, new columns): each order's index gains its tie-breaker and dob
_ORDERS = ((['status', 'kind', 'base_id', 'received_at'], ['status', 'kind', 'base_id', 'received_at', 'id', 'dob']),
           (['status', 'kind', 'dob'], ['status', 'kind', 'dob', 'id']),
           (['status', 'kind', 'received_at', 'id'], ['status', 'kind', 'received_at', 'id', 'dob']),
           (['status', 'kind', 'surname', 'forename', 'id'], ['status', 'kind', 'surname', 'forename', 'id', 'dob']))
_NAMES = ('surname', 'forename')


def _name(columns: list[str]) -> str:
    return 'ix_incoming_records_' + '_'.join(columns)


def upgrade() -> None:
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        for old, new in _ORDERS:
            batch_op.drop_index(_name(old))
            batch_op.create_index(_name(new), new, unique=False)
    for name in _NAMES:
        op.create_index(f'ix_incoming_records_lower_{name}', 'incoming_records',
                        [sa.func.lower(sa.text(name)).label(name)], postgresql_ops={name: 'text_pattern_ops'})


def downgrade() -> None:
    for name in _NAMES:
        op.drop_index(f'ix_incoming_records_lower_{name}', table_name='incoming_records')
    with op.batch_alter_table('incoming_records', schema=None) as batch_op:
        for old, new in _ORDERS:
            batch_op.drop_index(_name(new))
            batch_op.create_index(_name(old), old, unique=False)
