"""on PostgreSQL, the Unmatched list order and name search indexes hold only the waiting records

Every processed file writes thousands of incoming records, most of them matched; an index of
the waiting rows alone makes each write cheaper and the indexes smaller. SQLite keeps full
indexes: its planner cannot use a partial index for a condition with a bound parameter.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_ORDERS = (['status', 'kind', 'base_id', 'received_at', 'id', 'dob'], ['status', 'kind', 'dob', 'id'],
           ['status', 'kind', 'received_at', 'id', 'dob'], ['status', 'kind', 'surname', 'forename', 'id', 'dob'])
_NAMES = ('surname', 'forename')


def _name(columns: list[str]) -> str:
    return 'ix_incoming_records_' + '_'.join(columns)


def _recreate(where: str | None) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    waiting = sa.text(where) if where else None
    for columns in _ORDERS:
        op.drop_index(_name(columns), table_name='incoming_records')
        op.create_index(_name(columns), 'incoming_records', columns, unique=False, postgresql_where=waiting)
    for name in _NAMES:
        op.drop_index(f'ix_incoming_records_lower_{name}', table_name='incoming_records')
        op.create_index(f'ix_incoming_records_lower_{name}', 'incoming_records',
                        [sa.func.lower(sa.text(name)).label(name)], postgresql_ops={name: 'text_pattern_ops'},
                        postgresql_where=waiting)


def upgrade() -> None:
    _recreate("status = 'unmatched'")


def downgrade() -> None:
    _recreate(None)
