"""What follows a match: conflicts, the B2B cache, filling empty fields, enrolment, links.

For every field the school sent (bad values such as an invalid UPN left out):
- LA value empty: the incoming value fills it (audited);
- equal (ignoring case, spacing, postcode spaces): nothing to do;
- different: a conflict for the person and field, unless ``B2BHCACHE`` is on and the
  cache already holds this value (it was imported before and the LA kept its own), or
  the open conflict for that field already says the same. One open conflict per person
  and field: a different new value updates the open one.
With ``B2BHCACHE`` on, the cache then holds the differing value imported last (a value equal
to the LA's needs no entry: it cannot conflict).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import (CacheEntry, CarerLink, Conflict, Enrolment, Person, PersonIdentifier, bulk_insert, bulk_upsert,
                  one_of, utcnow)
from ..security import audit

__all__ = ["MatchedRecord", "AfterMatch", "PERSON_FIELDS", "same_value", "person_value"]

PERSON_FIELDS = ("upn", "forename", "middle_names", "surname", "preferred_surname", "dob", "gender",
                 "address", "town", "postcode", "uprn", "phone", "email")
_CARER_VALUES = ("relationship", "parental_responsibility", "priority")


@dataclass
class MatchedRecord:
    """One incoming record matched to a person, with what it brings."""

    incoming_id: int
    person_id: int
    kind: str
    sims_guid: str
    trusted: dict[str, str]
    enrolment: dict[str, Any] | None = None   # pupils: ncy, enrol_status, entry_date, leaving_date
    child_id: int | None = None               # contacts: the pupil's person, when matched
    carer: dict[str, Any] | None = None       # contacts: relationship, parental_responsibility, priority


def _normal(field: str, value: str) -> str:
    if field == "postcode":
        return value.replace(" ", "").upper()
    return " ".join(value.split()).casefold()


def same_value(field: str, a: str, b: str) -> bool:
    return a == b or _normal(field, a) == _normal(field, b)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else (value or "")


def person_value(person: Person, field: str) -> str:
    return _text(getattr(person, field))


def _set(person: Person, field: str, value: str) -> None:
    setattr(person, field, date.fromisoformat(value) if field == "dob" else value)


class AfterMatch:
    """Applies matches of one file (or one manual decision) inside the caller's transaction.

    Args:
        actor: who the audit names ("processing" for the worker, the LA user otherwise).
        use_cache: the ``B2BHCACHE`` system default.
    """

    def __init__(self, session: Session, base_id: int, file_id: str | None, actor: str, use_cache: bool) -> None:
        self.session, self.base_id, self.file_id = session, base_id, file_id
        self.actor, self.use_cache = actor, use_cache
        self.now = utcnow()

    def _load(self, person_ids: list[int]) -> None:
        """The persons' values (plain rows: ORM objects only for the few persons filled), the cache
        and the open conflicts."""
        self.values: dict[int, dict[str, Any]] = {}
        self.cache: dict[tuple[int, str], str] = {}
        self.open: dict[tuple[int, str], Conflict] = {}
        columns = [getattr(Person, field) for field in PERSON_FIELDS]
        for among in one_of(self.session, Person.id, person_ids):
            self.values.update((row[0], dict(zip(PERSON_FIELDS, row[1:])))
                               for row in self.session.execute(select(Person.id, *columns).where(among)))
        if self.use_cache:
            for among in one_of(self.session, CacheEntry.person_id, person_ids):
                self.cache.update(((pid, f), v) for pid, f, v in self.session.execute(
                    select(CacheEntry.person_id, CacheEntry.field, CacheEntry.value).where(among)))
        for among in one_of(self.session, Conflict.person_id, person_ids):
            self.open.update(((c.person_id, c.field), c) for c in self.session.scalars(
                select(Conflict).where(among, Conflict.status == "open")))

    def apply(self, matches: Sequence[MatchedRecord]) -> int:
        """Apply every match; returns how many conflicts were opened or changed."""
        self._load(sorted({m.person_id for m in matches}))
        self.cache_rows: list[dict] = []
        self.added: dict[tuple[int, str], dict[str, Any]] = {}
        self.fills: list[tuple[MatchedRecord, dict[str, str]]] = []
        changed = sum(self._fields(m) for m in matches if m.person_id in self.values)
        self._fill()
        bulk_insert(self.session.connection(), Conflict.__table__, list(self.added.values()))
        self._upsert(CacheEntry, self.cache_rows, ("person_id", "field"))
        self._links(matches)
        return changed

    def _fields(self, match: MatchedRecord) -> int:
        values = self.values[match.person_id]
        filled: dict[str, str] = {}
        changed = 0
        for field, value in match.trusted.items():
            current = _text(values[field])
            key = (match.person_id, field)
            if not current:
                values[field] = filled[field] = value  # later records of this file see it filled
            elif not same_value(field, current, value):
                changed += self._conflict(match, field, current, value, self.cache.get(key))
                self._remember(key, value)
        if filled:
            self.fills.append((match, filled))
        return changed

    def _fill(self) -> None:
        """Empty fields take the incoming values, audited per record, in the order of the records."""
        persons: dict[int, Person] = {}
        for among in one_of(self.session, Person.id, sorted({match.person_id for match, _ in self.fills})):
            persons.update((p.id, p) for p in self.session.scalars(select(Person).where(among)))
        for match, filled in self.fills:
            person = persons[match.person_id]
            for field, value in filled.items():
                _set(person, field, value)
            person.updated_at = self.now
            audit(self.session, self.actor, "person.fill", "person", person.id, {f: "" for f in filled}, filled,
                  detail=f"empty fields filled from file {self.file_id}, incoming record {match.incoming_id}")

    def _remember(self, key: tuple[int, str], value: str) -> None:
        """Cache a value that differs from the LA's (an equal value can never conflict)."""
        if self.use_cache and self.cache.get(key) != value:
            self.cache[key] = value
            self.cache_rows.append({"person_id": key[0], "field": key[1], "value": value, "file_id": self.file_id,
                                    "cached_at": self.now})

    def _conflict(self, match: MatchedRecord, field: str, current: str, value: str, cached: str | None) -> int:
        if self.use_cache and cached is not None and same_value(field, cached, value):
            return 0
        key = (match.person_id, field)
        changes = {"la_value": current, "incoming_value": value, "incoming_id": match.incoming_id,
                   "file_id": self.file_id, "base_id": self.base_id, "created_at": self.now}
        existing = self.open.get(key)
        if existing is not None:
            if same_value(field, existing.incoming_value, value):
                return 0
            for name, new in changes.items():
                setattr(existing, name, new)
            return 1
        added = self.added.get(key)  # an earlier record of this file opened it
        if added is not None:
            if same_value(field, added["incoming_value"], value):
                return 0
            added.update(changes)
            return 1
        # written together once every record is compared: one bulk insert instead of one row each
        self.added[key] = {"person_id": match.person_id, "field": field, **changes, "status": "open",
                           "resolved_by": ""}
        return 1

    def _upsert(self, model: type, rows: list[dict], keys: tuple[str, ...], unless_same: tuple[str, ...] = ()) -> None:
        bulk_upsert(self.session.connection(), model.__table__, rows, keys, unless_same)

    def _links(self, matches: Sequence[MatchedRecord]) -> None:
        # a GUID already linked to its person keeps its row (and created_at): most of a nightly file
        self._upsert(PersonIdentifier,
               [{"base_id": self.base_id, "sims_guid": m.sims_guid, "person_id": m.person_id, "created_at": self.now}
                for m in matches if m.sims_guid], ("base_id", "sims_guid"), unless_same=("person_id",))
        # rewritten every time: source_file_id names the last file that carried the enrolment (undo removes
        # the enrolment of the files it undoes)
        self._upsert(Enrolment,
               [{"person_id": m.person_id, "base_id": self.base_id, **m.enrolment, "source_file_id": self.file_id,
                 "updated_at": self.now} for m in matches if m.enrolment is not None], ("person_id", "base_id"))
        # a link's updated_at is when its values last changed: a link sent again unchanged keeps its row
        self._upsert(CarerLink,
               [{"child_id": m.child_id, "carer_id": m.person_id, **m.carer, "updated_at": self.now}
                for m in matches if m.child_id is not None and m.carer is not None and m.child_id != m.person_id],
               ("child_id", "carer_id"), unless_same=_CARER_VALUES)
