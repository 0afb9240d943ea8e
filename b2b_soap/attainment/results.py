"""Imported attainment results: query per base, hierarchy, aspect and NCY; CSV for analysis."""
from __future__ import annotations

import csv
from typing import IO, Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Aspect, AspectHierarchy, AttainmentResult, Base, Person
from ..errors import NotFound
from .hierarchies import find_hierarchy

__all__ = ["RESULT_COLUMNS", "query_results", "write_results_csv"]

RESULT_COLUMNS = ("laestab", "person_id", "upn", "surname", "forename", "dob", "ncy", "hierarchy",
                  "aspect_code", "aspect_name", "value", "collection_date", "file_id", "imported_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def query_results(session: Session, *, base: str | None = None, hierarchy: str | int | None = None,
                  aspect: str | None = None, ncy: str | None = None, limit: int | None = None,
                  ) -> list[dict[str, Any]]:
    """Results filtered by base (LAESTAB), hierarchy (name or id), aspect code and NCY.

    Returns:
        One dict per result with ``RESULT_COLUMNS``, ordered by base, pupil, aspect, date.

    Raises:
        NotFound: the base, hierarchy or aspect named does not exist.
    """
    query = (select(Base.laestab, Person.id, Person.upn, Person.surname, Person.forename, Person.dob,
                    AttainmentResult.ncy, AspectHierarchy.name, Aspect.code, Aspect.name,
                    AttainmentResult.value, AttainmentResult.collection_date, AttainmentResult.file_id,
                    AttainmentResult.imported_at)
             .join(Base, Base.id == AttainmentResult.base_id)
             .join(Person, Person.id == AttainmentResult.person_id)
             .join(Aspect, Aspect.id == AttainmentResult.aspect_id)
             .outerjoin(AspectHierarchy, AspectHierarchy.id == AttainmentResult.hierarchy_id))
    if base:
        base_id = session.scalar(select(Base.id).where(Base.laestab == base))
        if base_id is None:
            raise NotFound(f"no base {base}")
        query = query.where(AttainmentResult.base_id == base_id)
    if hierarchy:
        query = query.where(AttainmentResult.hierarchy_id == find_hierarchy(session, hierarchy).id)
    if aspect:
        aspect_id = session.scalar(select(Aspect.id).where(Aspect.code == aspect))
        if aspect_id is None:
            raise NotFound(f"no aspect {aspect}")
        query = query.where(AttainmentResult.aspect_id == aspect_id)
    if ncy:
        query = query.where(AttainmentResult.ncy == ncy)
    query = query.order_by(Base.laestab, Person.surname, Person.forename, Person.id, Aspect.code,
                           AttainmentResult.collection_date).limit(limit)
    return [dict(zip(RESULT_COLUMNS, row)) for row in session.execute(query)]


def _cell(value: Any) -> Any:
    # A value from a school opened in a spreadsheet must not run as a formula.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return "" if value is None else value


def write_results_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write results as CSV with a header row; returns the number of results written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESULT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_cell(row[c].isoformat() if hasattr(row[c], "isoformat") else row[c])
                         for c in RESULT_COLUMNS])
        count += 1
    return count
