"""The record both sides of a match are described by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["Record", "RECORD_FIELDS"]

# What a record holds besides its id, in this order
RECORD_FIELDS = ("upn", "forename", "middle_names", "surname", "dob", "gender", "address", "town", "postcode")


@dataclass(frozen=True, slots=True)
class Record:
    """One person, as held by the LA or as sent in by a school.

    Empty strings and ``None`` both mean "not known"; unknown fields neither
    add nor take away match weight.
    """

    id: str
    upn: str = ""
    forename: str = ""
    middle_names: str = ""
    surname: str = ""
    dob: date | None = None
    gender: str | None = None
    address: str = ""
    town: str = ""
    postcode: str = ""
