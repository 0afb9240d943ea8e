"""on PostgreSQL, the Unmatched list order indexes hold only the waiting (unmatched) records

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


def _name(columns: list[str]) -> str:
    return 'ix_incoming_records_' + '_'.join(columns)


def _recreate(where: str | None) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for columns in _ORDERS:
        op.drop_index(_name(columns), table_name='incoming_records')
        op.create_index(_name(columns), 'incoming_records', columns, unique=False,
                        postgresql_where=sa.text(where) if where else None)


def upgrade() -> None:
    _recreate("status = 'unmatched'")


def downgrade() -> None:
    _recreate(None)
