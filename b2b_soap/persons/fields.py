"""The person fields an LA loads and edits: CSV column names, limits and how each value is cleaned."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Callable

from ..matching.upn import is_valid_upn

__all__ = ["FieldSpec", "FIELDS", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS", "row_cleaner", "clean_value",
           "upn_warning"]

_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
_GENDERS = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "U": "U", "UNKNOWN": "U", "X": "X", "": ""}


def _text(value: str) -> str:
    return value


def _upn(value: str) -> str:
    return value.replace(" ", "").upper()


def _dob(value: str, today: date | None = None) -> str | None:
    """ISO text (what both databases store for a date), from YYYY-MM-DD or DD/MM/YYYY."""
    if not value:
        return None
    try:
        parsed = (datetime.strptime(value, "%d/%m/%Y").date() if "/" in value else date.fromisoformat(value))
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD or DD/MM/YYYY): {value!r}") from None
    if parsed.year < 1880 or parsed > (today or date.today()):
        raise ValueError(f"date of birth out of range: {value!r}")
    return parsed.isoformat()


def _gender(value: str) -> str:
    try:
        return _GENDERS[value.upper()]
    except KeyError:
        raise ValueError(f"expected M, F, U or X, got {value!r}") from None


def _postcode(value: str) -> str:
    compact = value.replace(" ", "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact


def _uprn(value: str) -> str:
    if value and not value.isdigit():
        raise ValueError(f"UPRN must be digits, got {value!r}")
    return value


@dataclass(frozen=True)
class FieldSpec:
    column: str          # CSV column and CLI option name
    attribute: str       # Person attribute
    max_length: int
    required: bool = False
    clean: Callable[[str], str | None] = _text


FIELDS = {f.column: f for f in (
    FieldSpec("id", "external_id", 64, True),
    FieldSpec("upn", "upn", 13, clean=_upn),
    FieldSpec("forename", "forename", 100, True),
    FieldSpec("surname", "surname", 100, True),
    FieldSpec("dob", "dob", 10, clean=_dob),
    FieldSpec("gender", "gender", 1, clean=_gender),
    FieldSpec("address", "address", 300),
    FieldSpec("town", "town", 100),
    FieldSpec("postcode", "postcode", 8, clean=_postcode),
    FieldSpec("middle_names", "middle_names", 200),
    FieldSpec("preferred_surname", "preferred_surname", 100),
    FieldSpec("address_lines", "address_lines", 500),
    FieldSpec("uprn", "uprn", 12, clean=_uprn),
    FieldSpec("phone", "phone", 40),
    FieldSpec("email", "email", 200),
)}
REQUIRED_COLUMNS = ("id", "upn", "forename", "surname", "dob", "gender", "address", "town", "postcode")
OPTIONAL_COLUMNS = tuple(c for c in FIELDS if c not in REQUIRED_COLUMNS)


def _checked(spec: FieldSpec, raw: str) -> str | None:
    try:
        value = spec.clean(raw) if raw else (None if spec.column == "dob" else "")
    except ValueError as exc:
        raise ValueError(f"{spec.column}: {exc}") from None
    if not value:
        if spec.required:
            raise ValueError(f"{spec.column}: required")
    elif len(value) > spec.max_length:
        raise ValueError(f"{spec.column}: longer than {spec.max_length} characters")
    return value


def clean_value(column: str, raw: str) -> str | None:
    """One cleaned value; ValueError names the column and what is wrong."""
    return _checked(FIELDS[column], raw.strip())


def row_cleaner(columns: tuple[str, ...]) -> Callable[[list[str]], dict[str, str | None]]:
    """A function cleaning one CSV row given as values in ``columns`` order, keyed by Person attribute.

    Plain text, most of a row, is only stripped and checked inline: a bulk load cleans millions
    of values, and a function call per value would double the time.
    """
    today = date.today()
    specs = [FIELDS[c] if c != "dob" else replace(FIELDS[c], clean=lambda v: _dob(v, today)) for c in columns]
    plain = [(i, s.column, s.attribute, s.max_length, s.required)
             for i, s in enumerate(specs) if s.clean is _text]
    special = [(i, s) for i, s in enumerate(specs) if s.clean is not _text]

    def every_problem(values: list[str]) -> str:
        problems = []
        for spec, value in zip(specs, values):
            try:
                _checked(spec, value.strip())
            except ValueError as exc:
                problems.append(str(exc))
        return "; ".join(problems)

    def clean(values: list[str]) -> dict[str, str | None]:
        try:
            record = {spec.attribute: _checked(spec, values[index].strip()) for index, spec in special}
            for index, column, attribute, limit, required in plain:
                value = record[attribute] = values[index].strip()
                if len(value) > limit or (required and not value):
                    raise ValueError(f"{column}: required" if not value
                                     else f"{column}: longer than {limit} characters")
        except ValueError:  # a bad row is rare: check it again, value by value, to name every problem
            raise ValueError(every_problem(values)) from None
        return record
    return clean


def upn_warning(upn: str) -> str | None:
    """A UPN with a wrong check letter is loaded as given (a data-quality finding, not an error)."""
    if upn and not is_valid_upn(upn):
        return f"upn {upn!r} fails the UPN check"
    return None
