"""Many rows into one table at once, in the caller's transaction.

On PostgreSQL, inserts go by COPY and upserts as one statement over one binary array per
column, instead of one statement per row: that roughly halves what a processed file costs to write.
Elsewhere (SQLite) both are a statement run by the driver's executemany.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, ColumnElement, Connection, Table, any_, bindparam, insert, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["bulk_insert", "bulk_upsert", "copy_rows", "in_lists", "one_of", "reserve_ids"]

# Values in one IN list: a whole transfer file's GUIDs or persons in one query, well under
# SQLite's limit of 32766 parameters.
IN_LIST_SIZE = 5000


def in_lists(values: Sequence[Any]) -> Iterator[list[Any]]:
    """``values`` in slices short enough for one ``IN (...)`` each."""
    for start in range(0, len(values), IN_LIST_SIZE):
        yield list(values[start:start + IN_LIST_SIZE])


def one_of(session: Session, column: ColumnElement, values: Sequence[Any]) -> Iterator[ColumnElement]:
    """Conditions ``column IN values``, one query each.

    On PostgreSQL a single ``= ANY`` of one array parameter: the statement's text is the same
    whatever the number of values, so neither SQLAlchemy nor psycopg re-parse thousands of
    placeholders for each file. Elsewhere one ``IN`` per slice of ``in_lists``.
    """
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return
    for chunk in in_lists(values):
        yield column.in_(chunk)


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


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int] | None:
    """``count`` new ids of ``table`` from its sequence, in one statement; None where there is no
    sequence (SQLite: the ids come with the insert)."""
    if conn.dialect.name != "postgresql":
        return None
    # the sequence is looked up once, not once per id
    return list(conn.execute(text("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(:table, 'id')::regclass AS seq) "
                                  "SELECT nextval(seq) FROM s, generate_series(1, :n)"),
                             {"table": table.name, "n": count}).scalars())


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults that an INSERT through SQLAlchemy would fill in and COPY does not."""
    found = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        found[column.name] = default.arg(None) if default.is_callable else default.arg
    return found


def bulk_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                unless_same: Sequence[str] = ()) -> int:
    """Insert rows, or update the other given columns of rows whose key exists; the last row per key
    wins. Rows all have the same keys. A row whose key exists with the same ``unless_same`` values
    is left as it is (no new row version, no index entries). Returns how many distinct rows were given."""
    unique = list({tuple(row[k] for k in keys): row for row in rows}.values())
    if not unique:
        return 0
    names = list(unique[0])
    changing = [name for name in names if name not in keys]
    if conn.dialect.name != "postgresql":
        statement = sqlite.insert(table)
        differs = [table.c[name].is_distinct_from(statement.excluded[name]) for name in unless_same]
        conn.execute(statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in changing},
            where=or_(*differs) if differs else None), unique)
        return len(unique)
    defaults = _defaults(table, names)
    columns = [*names, *defaults]
    arrays = [f"CAST(%(c{i})b AS {table.c[name].type.compile(conn.dialect)}[])" for i, name in enumerate(columns)]
    differs = " OR ".join(f"{table.name}.{name} IS DISTINCT FROM EXCLUDED.{name}" for name in unless_same)
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(arrays)}) "
                 f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                 + ", ".join(f"{name} = EXCLUDED.{name}" for name in changing)
                 + (f" WHERE {differs}" if differs else ""))
    values = {f"c{i}": [row[name] for row in unique] for i, name in enumerate(names)}
    values.update({f"c{len(names) + i}": [value] * len(unique) for i, value in enumerate(defaults.values())})
    # %(..)b: binary parameters; psycopg quotes each element of a text array in Python, 5 times slower
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(statement, values)
    return len(unique)
