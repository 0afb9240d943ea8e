"""The LA population as the matching core sees it, cached in the process.

Building a :class:`PopulationIndex` of 250,000 persons takes seconds, so each process
builds it once and then refreshes it with the persons changed since (``updated_at``).
Pupils are matched against everybody; contacts only against persons old enough to be
carers (``CARER_MIN``), which is a second index over that subset, rebuilt when the day
or ``CARER_MIN`` changes.
"""
from __future__ import annotations

import gc
import json
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Iterator

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..db import PERSON_ERASED, AuditEntry, Person, utcnow
from ..matching import RECORD_FIELDS, MatchModel, MatchSettings, PopulationIndex, Record
from .model import load_model

__all__ = ["Population", "PopulationCache", "age_on", "cache_for", "PERSON_COLUMNS", "person_record"]

# A person changed in a transaction that commits after a refresh carries an updated_at
# from before it: each refresh looks back this far before the previous one.
_OVERLAP = timedelta(seconds=60)
# The id, then the matching record's fields in RECORD_FIELDS order
PERSON_COLUMNS = (Person.id, Person.upn, Person.forename, Person.middle_names, Person.surname, Person.dob,
            Person.gender, Person.address, Person.town, Person.postcode)


# Contacts carry no UPN or date of birth: only the name and address rules can find them.
CARER_BLOCKING = ("forename_phonetic+surname_phonetic", "names_phonetic_any_order", "postcode+forename_initial",
                  "surname_phonetic+postcode", "address+postcode", "address+town")


def carer_settings(settings: MatchSettings) -> MatchSettings:
    rules = tuple(r for r in settings.blocking_rules if r in CARER_BLOCKING) or settings.blocking_rules
    return replace(settings, blocking_rules=rules)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the indexes are built, and their objects frozen after.

    The index's millions of objects live as long as the process: collected while they are made,
    they cost a third of the build; left to the collector afterwards, every full collection walks
    them all (0.5 s every few files at 1,000,000 persons). Frozen, the collector skips them; they
    are still freed by reference count when an index is replaced.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _erased_since(session: Session, since: datetime) -> list[str]:
    """Persons erased since ``since``: erasure is the only way a person row goes, and it is audited
    in the same transaction, so the audit trail tells every process what to drop."""
    return list(session.scalars(select(AuditEntry.object_id).where(
        AuditEntry.at >= since, AuditEntry.action == PERSON_ERASED, AuditEntry.object_type == "person")))


def _carer_rows(index: PopulationIndex, carer_min: int, today: date):
    """Rows old enough to be carers on ``today`` (or of unknown age), from the coded dates of birth."""
    latest_birthday = (today.year - carer_min) * 10000 + today.month * 100 + today.day
    return index.cols["dob"] <= latest_birthday  # no date of birth is coded 0


def age_on(dob: date, day: date) -> int:
    """Age in completed years on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def person_record(row) -> Record:
    """A row of PERSON_COLUMNS as the matching core's record."""
    pid, upn, forename, middle, surname, dob, gender, address, town, postcode = row
    return Record(str(pid), upn, forename, middle, surname, dob, gender or None, address, town, postcode)


@dataclass
class Population:
    """What one batch is matched against."""

    everyone: PopulationIndex
    carers: PopulationIndex
    model: MatchModel


class PopulationCache:
    """One process's population indexes, refreshed incrementally on every :meth:`get`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._population: Population | None = None
        self._settings_key = ""
        self._carer_key: tuple[date, int] | None = None
        self._watermark = utcnow()

    def get(self, session: Session, carer_min: int, today: date) -> Population:
        with self._lock:
            model = load_model(session)
            settings_key = json.dumps(model.settings.to_dict(), sort_keys=True)
            if self._population is None or settings_key != self._settings_key:
                self._build(session, model, carer_min, today)
                self._settings_key = settings_key
            else:
                self._population.model = model
                self._refresh(session, carer_min, today)
            return self._population

    def _eligible(self, record: Record, carer_min: int, today: date) -> bool:
        return record.dob is None or age_on(record.dob, today) >= carer_min

    def _build(self, session: Session, model: MatchModel, carer_min: int, today: date) -> None:
        with _collector_paused():
            self._build_indexes(session, model, carer_min, today)

    def _build_indexes(self, session: Session, model: MatchModel, carer_min: int, today: date) -> None:
        self._watermark = utcnow()
        rows = session.connection().execute(select(*PERSON_COLUMNS).order_by(Person.id)).all()
        ids, *values = zip(*rows) if rows else [()] * (len(RECORD_FIELDS) + 1)
        columns = dict(zip(RECORD_FIELDS, values))
        del rows, values
        everyone = PopulationIndex.from_columns(list(map(str, ids)), columns, model.settings)
        carers = everyone.subset(_carer_rows(everyone, carer_min, today), carer_settings(model.settings))
        self._population = Population(everyone, carers, model)
        self._carer_key = (today, carer_min)

    def _refresh(self, session: Session, carer_min: int, today: date) -> None:
        population = self._population
        assert population is not None
        if (today, carer_min) != self._carer_key:
            everyone = population.everyone
            population.carers = everyone.subset(_carer_rows(everyone, carer_min, today),
                                                carer_settings(population.model.settings))
            self._carer_key = (today, carer_min)
        started = utcnow()
        since = self._watermark - _OVERLAP
        self._watermark = started
        changed = population.everyone.changed(
            [person_record(row) for row in session.execute(select(*PERSON_COLUMNS).where(Person.updated_at >= since))])
        if changed:
            population.everyone.add(changed)
            population.carers.add([r for r in changed if self._eligible(r, carer_min, today)])
            population.carers.remove([r.id for r in changed if not self._eligible(r, carer_min, today)])
        erased = _erased_since(session, since)
        population.everyone.remove(erased)
        population.carers.remove(erased)


_CACHES: weakref.WeakKeyDictionary[Engine, PopulationCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> PopulationCache:
    """The process's cache for one database."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = PopulationCache()
        return cache
