"""Many rows into one table at once: COPY on PostgreSQL, executemany elsewhere.

COPY sends the rows as one stream instead of one statement each, which roughly halves
what a processed file costs to write on PostgreSQL.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Table, insert

__all__ = ["bulk_insert", "copy_rows"]


def copy_rows(conn: Connection, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY value tuples (in ``names`` order) into ``table``; PostgreSQL only."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, inside the connection's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    defaults = _defaults(table, names)
    # SQLAlchemy stores a JSON column's None as JSON null; so does this
    json = {name for name in names if isinstance(table.c[name].type, JSON)}
    copy_rows(conn, table, [*names, *defaults],
              ([*(Jsonb(row[n]) if n in json else row[n] for n in names), *defaults.values()] for row in rows))


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults that an INSERT through SQLAlchemy would fill in and COPY does not."""
    found = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        found[column.name] = default.arg(None) if default.is_callable else default.arg
    return found
