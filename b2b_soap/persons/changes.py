"""The LA population: bulk import from CSV (upsert by the LA's id) and audited single updates.

A bulk load stages rows in a temporary table (PostgreSQL ``COPY``, SQLite ``executemany``), then
inserts the new persons and updates the changed ones with one statement each, all in the caller's
transaction: an import is applied whole or not at all. Each changed person gets one audit row with
the changed fields before and after; new persons are counted in one summary row.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import (Column, Connection, Date, Integer, MetaData, String, Table, and_, exists, insert,
                        literal, or_, select, update)
from sqlalchemy.orm import Session

from ..db import AuditEntry, CarerLink, Person, copy_rows, utcnow
from ..errors import NotFound, ValidationFailed
from ..security import audit
from .fields import FIELDS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, clean_value, row_cleaner, upn_warning

__all__ = ["RowProblem", "ImportReport", "Progress", "import_persons_csv", "upsert_persons",
           "load_carer_links", "update_person", "get_person", "person_record", "REQUIRED_COLUMNS",
           "OPTIONAL_COLUMNS"]

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; ``total`` 0 means not known yet."""

_BATCH = 20_000
_ATTRIBUTES = tuple(f.attribute for f in FIELDS.values())
_persons = Person.__table__
_carers = CarerLink.__table__
_staging_meta = MetaData()


def _staging_column(spec) -> Column:
    if spec.attribute == "external_id":
        return Column("external_id", String(64), primary_key=True)
    return Column(spec.attribute, Date if spec.attribute == "dob" else String(spec.max_length))


_staging = Table("person_staging", _staging_meta, *(_staging_column(f) for f in FIELDS.values()),
                 prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
_link_staging = Table("carer_link_staging", _staging_meta,
                      Column("child", String(64)), Column("carer", String(64)),
                      Column("relationship", String(40)),
                      Column("parental_responsibility", Integer), Column("priority", Integer),
                      prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


@dataclass(frozen=True)
class RowProblem:
    row: int  # line number in the file, the header being line 1
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "skipped": len(self.skipped), "warnings": len(self.warnings),
                "seconds": round(self.seconds, 2)}


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _read_csv(path: Path, report: ImportReport, progress: Progress) -> tuple[list[dict], tuple[str, ...]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [c for c in header if c not in FIELDS]
        if missing or unknown or len(set(header)) != len(header):
            problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + \
                       ([f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + \
                       (["a column appears twice"] if len(set(header)) != len(header) else [])
            raise ValidationFailed(f"{path}: {'; '.join(problems)} (columns: {', '.join(REQUIRED_COLUMNS)} "
                                   f"and optionally {', '.join(OPTIONAL_COLUMNS)})")
        columns = tuple(header)
        clean = row_cleaner(columns)
        records, seen = [], {}
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            report.rows += 1
            if len(values) != len(columns):
                message = f"expected {len(columns)} values, found {len(values)}"
                report.skipped.append(RowProblem(line, message))
                continue
            try:
                record = clean(values)
            except ValueError as exc:
                report.skipped.append(RowProblem(line, str(exc)))
                continue
            key = record["external_id"]
            if key in seen:
                report.skipped.append(RowProblem(line, f"id {key!r} already given on line {seen[key]}"))
                continue
            seen[key] = line
            warning = upn_warning(record["upn"])
            if warning:
                report.warnings.append(RowProblem(line, warning))
            records.append(record)
            if report.rows % _BATCH == 0:
                progress("reading", report.rows, 0)
    progress("reading", report.rows, report.rows)
    return records, columns


def _reporting(rows: Sequence[tuple], stage: str, progress: Progress) -> Iterator[tuple]:
    for done, row in enumerate(rows, 1):
        yield row
        if done % _BATCH == 0:
            progress(stage, done, len(rows))


def _stage(conn: Connection, table: Table, rows: Sequence[tuple], stage: str, progress: Progress) -> None:
    """Fill a fresh temporary table: COPY on PostgreSQL, batched executemany elsewhere."""
    table.drop(conn, checkfirst=True)
    table.create(conn)
    names = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, names, _reporting(rows, stage, progress))
    else:
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        for start in range(0, len(rows), _BATCH):
            conn.exec_driver_sql(sql, list(rows[start:start + _BATCH]))
            progress(stage, min(start + _BATCH, len(rows)), len(rows))
    progress(stage, len(rows), len(rows))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _audit_changes(conn: Connection, changed: list[str], actor: str, now: Any, source: str) -> int:
    """One audit row per changed person, naming only the fields that differ."""
    query = (select(_persons.c.id, _persons.c.external_id, *(_persons.c[a] for a in changed),
                    *(_staging.c[a].label(f"new_{a}") for a in changed))
             .join(_staging, _staging.c.external_id == _persons.c.external_id)
             .where(or_(*(_persons.c[a].is_distinct_from(_staging.c[a]) for a in changed))))
    entries = []
    for row in conn.execute(query).mappings():
        fields = [a for a in changed if row[a] != row[f"new_{a}"]]
        entries.append({"at": now, "actor": actor, "action": "person.update", "object_type": "person",
                        "object_id": str(row["id"]), "detail": f"{source}; id {row['external_id']}",
                        "before": {a: _jsonable(row[a]) for a in fields},
                        "after": {a: _jsonable(row[f"new_{a}"]) for a in fields}})
    for start in range(0, len(entries), _BATCH):
        conn.execute(insert(AuditEntry.__table__), entries[start:start + _BATCH])
    return len(entries)


def upsert_persons(session: Session, records: Sequence[dict], columns: Iterable[str], actor: str,
                   source: str, progress: Progress | None = None) -> tuple[int, int]:
    """Insert new persons and update changed ones, keyed by ``external_id``; returns (inserted, updated).

    Args:
        records: clean values keyed by Person attribute (``dob`` as ISO text); attributes not given are
            stored empty for new persons.
        columns: the CSV columns the source had: only these are compared and updated on existing persons.
    """
    progress = progress or _no_progress
    conn = session.connection()
    now = utcnow()
    staged = [tuple(r.get(a, "") if a != "dob" else r.get("dob") for a in _ATTRIBUTES) for r in records]
    _stage(conn, _staging, staged, "staging", progress)
    changed = [FIELDS[c].attribute for c in columns if c != "id"]
    progress("saving", 0, len(records))
    updated = _audit_changes(conn, changed, actor, now, source) if changed else 0
    if updated:
        conn.execute(update(_persons)
                     .where(_persons.c.external_id == _staging.c.external_id,
                            or_(*(_persons.c[a].is_distinct_from(_staging.c[a]) for a in changed)))
                     .values({**{a: _staging.c[a] for a in changed}, "updated_at": now}))
    is_new = ~exists().where(_persons.c.external_id == _staging.c.external_id)
    inserted = conn.execute(insert(_persons).execution_options(preserve_rowcount=True).from_select(
        [*_ATTRIBUTES, "created_at", "updated_at"],
        select(*(_staging.c[a] for a in _ATTRIBUTES), literal(now, _persons.c.created_at.type),
               literal(now, _persons.c.updated_at.type)).where(is_new))).rowcount
    _staging.drop(conn, checkfirst=True)
    progress("saving", len(records), len(records))
    return inserted, updated


def load_carer_links(session: Session, links: Iterable[tuple[str, str, str, bool, int]],
                     progress: Progress | None = None) -> int:
    """Add child -> carer links given by external ids (child, carer, relationship, responsibility,
    priority); links already present and links naming unknown persons are left out. Returns links added."""
    conn = session.connection()
    rows = [(child, carer, rel, int(pr), priority) for child, carer, rel, pr, priority in links]
    _stage(conn, _link_staging, rows, "carer links", progress or _no_progress)
    child, carer = _persons.alias("child"), _persons.alias("carer")
    source = (select(child.c.id, carer.c.id, _link_staging.c.relationship,
                     _link_staging.c.parental_responsibility == 1, _link_staging.c.priority,
                     literal(utcnow(), _carers.c.updated_at.type))
              .join(child, child.c.external_id == _link_staging.c.child)
              .join(carer, carer.c.external_id == _link_staging.c.carer)
              .where(~exists().where(and_(_carers.c.child_id == child.c.id,
                                          _carers.c.carer_id == carer.c.id))))
    added = conn.execute(insert(_carers).execution_options(preserve_rowcount=True).from_select(
        ["child_id", "carer_id", "relationship", "parental_responsibility", "priority", "updated_at"],
        source)).rowcount
    _link_staging.drop(conn, checkfirst=True)
    return added


def import_persons_csv(session: Session, path: str | Path, actor: str,
                       progress: Progress | None = None) -> ImportReport:
    """Load or update the population from a CSV file in the caller's transaction.

    Bad rows are reported with their line numbers and skipped; every good row is applied, or none
    if anything fails. Raises ValidationFailed when the file itself is unusable (missing columns).
    """
    progress = progress or _no_progress
    started = time.perf_counter()
    path = Path(path)
    report = ImportReport()
    try:
        records, columns = _read_csv(path, report, progress)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(f"cannot read {path}: {exc}") from None
    report.inserted, report.updated = upsert_persons(session, records, columns, actor, f"import {path.name}",
                                                     progress)
    report.unchanged = len(records) - report.inserted - report.updated
    report.seconds = time.perf_counter() - started
    audit(session, actor, "person.import", "person", "", None,
          dict(report.summary(), file=str(path)), detail=f"import {path.name}")
    return report


def get_person(session: Session, person_id: int | str) -> Person:
    """A person by internal id (int) or by the LA's id (``external_id``)."""
    person = (session.get(Person, person_id) if isinstance(person_id, int)
              else session.scalar(select(Person).where(Person.external_id == person_id)))
    if person is None:
        raise NotFound(f"unknown person {person_id!r}")
    return person


def person_record(person: Person) -> dict[str, Any]:
    return {"person_id": person.id, **{f.column: getattr(person, f.attribute) for f in FIELDS.values()},
            "updated_at": person.updated_at}


def update_person(session: Session, actor: str, person_id: int | str,
                  changes: dict[str, str]) -> dict[str, Any]:
    """Change fields of one person (keys are the CSV column names, values text); audited.

    Returns ``{"person_id", "changed": {column: [before, after]}}``; unchanged values are left out.
    """
    unknown = [c for c in changes if c not in FIELDS or c == "id"]
    if unknown:
        raise ValidationFailed(f"cannot update {', '.join(unknown)}; fields: "
                               f"{', '.join(c for c in FIELDS if c != 'id')}")
    person = get_person(session, person_id)
    cleaned = {}
    for column, raw in changes.items():
        try:
            value = clean_value(column, raw)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        cleaned[column] = date.fromisoformat(value) if column == "dob" and value else value
    diff = {c: [getattr(person, FIELDS[c].attribute), v] for c, v in cleaned.items()
            if getattr(person, FIELDS[c].attribute) != v}
    if diff:
        for column, (_, value) in diff.items():
            setattr(person, FIELDS[column].attribute, value)
        person.updated_at = utcnow()
        audit(session, actor, "person.update", "person", person.id,
              {FIELDS[c].attribute: _jsonable(b) for c, (b, _) in diff.items()},
              {FIELDS[c].attribute: _jsonable(a) for c, (_, a) in diff.items()},
              detail=f"id {person.external_id}")
    changed = {c: [_jsonable(b), _jsonable(a)] for c, (b, a) in diff.items()}
    return {"person_id": person.id, "changed": changed}
