"""How the Unmatched list is ordered and searched, each order following an index of ``incoming_records``."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select, union_all
from sqlalchemy.orm import aliased

from ..db import IncomingRecord as R
from ..errors import ValidationFailed

__all__ = ["UNMATCHED_SORTS", "typed_day", "unmatched_order", "unmatched_search", "name_starts"]

# newest first is the default; each is (label, ORDER BY) over the (status, kind, ...) indexes
UNMATCHED_SORTS = {
    "received": ("Newest first", (R.received_at.desc(), R.id.desc())),
    "oldest": ("Oldest first", (R.received_at, R.id)),
    "name": ("Name", (R.surname, R.forename, R.id)),
    "age": ("Youngest first", (R.dob.desc(), R.id.desc())),
    "base": ("Base, oldest first", (R.base_id, R.received_at, R.id)),
}
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})")
_UPN = re.compile(r"[A-Z]\d{11}[0-9A-Z]")


def typed_day(text: str) -> date | None:
    """A date as people type it: 13/01/2016, 13-1-2016 or 2016-01-13; None if it is not one."""
    text = text.strip()
    found = _DAY_MONTH_YEAR.fullmatch(text)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def unmatched_order(sort: str) -> tuple:
    if sort not in UNMATCHED_SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(UNMATCHED_SORTS)}")
    return UNMATCHED_SORTS[sort][1]


def name_starts(column, word: str, dialect: str) -> ColumnElement:
    """``column`` starts with ``word`` (lower case), in a form the index of ``lower(column)`` serves."""
    lowered = func.lower(column)
    if dialect == "sqlite":  # its LIKE ignores case, so only a range in binary order uses the index
        return and_(lowered >= word, lowered < word[:-1] + chr(ord(word[-1]) + 1))
    return lowered.like(word + "%")  # PostgreSQL reads the prefix from the text_pattern_ops index


def unmatched_search(text: str, dialect: str) -> list[ColumnElement]:
    """Conditions for a search box: a date of birth, a UPN, or the starts of names (each word)."""
    text = text.strip()[:100]
    if not text:
        return []
    day = typed_day(text)
    if day is not None:
        return [R.dob == day]
    if _UPN.fullmatch(text.upper()):
        return [R.upn == text.upper()]
    words = [w.replace("%", "").replace("_", "") for w in text.lower().replace(",", " ").split()]
    return [R.id.in_(_named(w, dialect)) for w in words if w]


def _named(word: str, dialect: str):
    """Ids of waiting records whose surname or forename starts with ``word``, each read from its own
    index (on PostgreSQL an index of the waiting records only)."""
    other = aliased(R)
    return union_all(*(select(other.id).where(name_starts(column, word, dialect), other.status == "unmatched")
                       for column in (other.surname, other.forename)))
