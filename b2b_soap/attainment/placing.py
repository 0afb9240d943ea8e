"""Placing one attainment result: whose it is, which aspect, whether the value fits.

Shared by the import job and suspense resolution. Pupils are resolved only through the
links the matching engine keeps: base + SIMS GUID (``PersonIdentifier``), then a valid
UPN held by exactly one person. Nothing here guesses a match or creates a person.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Aspect, AttainmentResult, Person, PersonIdentifier, bulk_upsert, in_lists, utcnow
from ..matching.upn import is_valid_upn

__all__ = ["Placement", "check_value", "PupilResolver", "store_results"]



@dataclass(frozen=True)
class Placement:
    """A result ready to store."""

    person_id: int
    aspect_id: int
    value: str
    collection_date: date
    ncy: str


def check_value(aspect: Aspect, value: str) -> tuple[str, str | None]:
    """The value as stored and None, or the value as sent and why it does not fit ``aspect``."""
    if aspect.result_type == "grade":
        grades = list(aspect.grade_set or [])
        if value in grades:
            return value, None
        folded = {g.casefold(): g for g in grades}
        if value.casefold() in folded:
            return folded[value.casefold()], None
        return value, f"value {value!r} is not in the grade set of {aspect.code} ({', '.join(grades)})"
    if aspect.result_type == "mark":
        try:
            mark = float(value)
        except ValueError:
            return value, f"value {value!r} of {aspect.code} is not a mark"
        if not (aspect.mark_min <= mark <= aspect.mark_max):
            return value, (f"mark {value} of {aspect.code} is outside {aspect.mark_min:g}"
                           f"..{aspect.mark_max:g}")
        return value, None
    return value, None


class PupilResolver:
    """Resolve the pupils of one base in bulk: GUID links first, then unique valid UPNs."""

    def __init__(self, session: Session, base_id: int):
        self.session = session
        self.base_id = base_id
        self.by_guid: dict[str, int] = {}
        self.by_upn: dict[str, list[int]] = {}

    def load(self, guids: Iterable[str], upns: Iterable[str]) -> None:
        wanted = sorted({g for guid in guids for g in (guid, guid.lower())})
        for chunk in in_lists(wanted):
            rows = self.session.execute(
                select(PersonIdentifier.sims_guid, PersonIdentifier.person_id)
                .where(PersonIdentifier.base_id == self.base_id, PersonIdentifier.sims_guid.in_(chunk)))
            self.by_guid.update((guid.lower(), person_id) for guid, person_id in rows)
        valid = sorted({u for u in upns if is_valid_upn(u)} - set(self.by_upn))
        for chunk in in_lists(valid):
            for upn, person_id in self.session.execute(
                    select(Person.upn, Person.id).where(Person.upn.in_(chunk))):
                self.by_upn.setdefault(upn, []).append(person_id)

    def resolve(self, sims_guid: str, upn: str) -> tuple[int | None, str | None]:
        """The person id and None, or None and why the pupil is not matched."""
        person_id = self.by_guid.get((sims_guid or "").lower())
        if person_id is not None:
            return person_id, None
        if not is_valid_upn(upn):
            return None, f"pupil not matched: no link for SIMS GUID {sims_guid} and UPN {upn!r} is not valid"
        persons = self.by_upn.get(upn, [])
        if len(persons) == 1:
            return persons[0], None
        if persons:
            return None, f"pupil not matched: UPN {upn} is held by {len(persons)} persons"
        return None, f"pupil not matched: no link for SIMS GUID {sims_guid} and no person with UPN {upn}"


def store_results(session: Session, base_id: int, hierarchy_id: int | None, file_id: str,
                  placements: Iterable[Placement]) -> int:
    """Insert or update results (one per person, aspect and collection date); later ones win.

    Returns:
        How many distinct results were written.
    """
    latest: dict[tuple[int, int, date], Placement] = {}
    for p in placements:
        latest[(p.person_id, p.aspect_id, p.collection_date)] = p
    if not latest:
        return 0
    shared = {"base_id": base_id, "hierarchy_id": hierarchy_id, "file_id": file_id, "imported_at": utcnow()}
    return bulk_upsert(session.connection(), AttainmentResult.__table__,
                       [{**shared, "person_id": p.person_id, "aspect_id": p.aspect_id, "ncy": p.ncy,
                         "value": p.value, "collection_date": p.collection_date} for p in latest.values()],
                       ("person_id", "aspect_id", "collection_date"))
