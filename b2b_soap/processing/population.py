"""The LA population as the matching core sees it, cached in the process.

Building a :class:`PopulationIndex` of 1,000,000 persons takes seconds, so it is built once
(by the ``--workers`` parent before forking, whose workers then share it, else by each
process) and then refreshed with the persons changed since (``updated_at``).
Pupils are matched against everybody; contacts only against persons old enough to be
carers (``CARER_MIN``), which is a second index over that subset, rebuilt when the day
or ``CARER_MIN`` changes.
"""
from __future__ import annotations

import gc
import json
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Iterator

import numpy as np
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from ..db import PERSON_ERASED, AuditEntry, Person, utcnow
from ..matching import RECORD_FIELDS, MatchModel, MatchSettings, PopulationIndex, Record
from ..matching._coding import Coded, Coder
from .model import load_model

__all__ = ["Population", "LivePopulation", "age_on", "live_population", "PERSON_COLUMNS", "person_record",
           "collector_paused"]

# A person changed in a transaction that commits after a refresh carries an updated_at
# from before it: each refresh looks back this far before the previous one.
_OVERLAP = timedelta(seconds=60)
# The id, then the matching record's fields in RECORD_FIELDS order
PERSON_COLUMNS = (Person.id, Person.upn, Person.forename, Person.middle_names, Person.surname, Person.dob,
            Person.gender, Person.address, Person.town, Person.postcode)


# Contacts carry no UPN or date of birth: only the name and address rules can find them.
CARER_BLOCKING = ("forename_phonetic+surname_phonetic", "names_phonetic_any_order", "postcode+forename_initial",
                  "surname_phonetic+postcode", "address+postcode", "address+town",
                  "surname_phonetic+forename_initial+gender_without_dob", "surname+gender_without_forename")


def carer_settings(settings: MatchSettings) -> MatchSettings:
    rules = tuple(r for r in settings.blocking_rules if r in CARER_BLOCKING) or settings.blocking_rules
    return replace(settings, blocking_rules=rules)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (the process's collector, so nested or concurrent
    pauses leave it on only once the outermost one ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _erased_since(session: Session, since: datetime) -> list[str]:
    """Persons erased since ``since``: erasure is the only way a person row goes, and it is audited
    in the same transaction, so the audit trail tells every process what to drop."""
    return list(session.scalars(select(AuditEntry.object_id).where(
        AuditEntry.at >= since, AuditEntry.action == PERSON_ERASED, AuditEntry.object_type == "person")))


def _coded_here(conn: Connection, coder: Coder) -> Coded:
    """Every person, read and coded here."""
    rows = conn.execute(select(*PERSON_COLUMNS)).all()
    ids, *values = zip(*rows) if rows else [()] * (len(RECORD_FIELDS) + 1)
    return coder.encode_columns(list(map(str, ids)), dict(zip(RECORD_FIELDS, values)))


def _coded_with_postgresql(conn: Connection, coder: Coder) -> Coded:
    """Every person, factorised by the database: each field's distinct values are read once and coded
    here while the database packs every person's positions among them into one binary value, so a
    million persons never become ten million Python strings."""
    table = Person.__tablename__
    with conn.connection.driver_connection.cursor() as cursor, ThreadPoolExecutor(1) as coding:
        # a field's values are coded while the database finds the next field's, and the UPNs checked
        # while it packs the positions; one thread, so the vocabularies fill in the order they always do
        codes = {name: coding.submit(coder.code_values, name, _distinct_values(cursor, table, name))
                 for name in RECORD_FIELDS}
        coding.submit(coder.upns.valid_array)
        rows = _positions(cursor, table)
        for name in RECORD_FIELDS:
            cursor.execute(f"DROP TABLE distinct_{name}")
        codes = {name: found.result() for name, found in codes.items()}
    return coder.coded(list(map(str, rows["id"].tolist())),
                       {name: codes[name][rows[name].astype(np.intp)] for name in RECORD_FIELDS})


def _distinct_values(cursor, table: str, name: str) -> list:
    """A field's distinct values, numbered from 1 in the temporary table ``distinct_<name>``; position 0
    of the list returned is no value."""
    cursor.execute(f"CREATE TEMP TABLE distinct_{name} ON COMMIT DROP AS SELECT value, "
                   f"(row_number() OVER ())::int4 AS position FROM "
                   f"(SELECT DISTINCT {name} AS value FROM {table} WHERE {name} IS NOT NULL) AS found")
    cursor.execute(f"ANALYZE distinct_{name}")
    cursor.execute(f"SELECT value FROM distinct_{name} ORDER BY position")
    return [None, *(value for value, in cursor.fetchall())]


def _positions(cursor, table: str) -> np.ndarray:
    """Every person's id and positions among the distinct values of each field (0: no value)."""
    row = " || ".join(["int8send(p.id)", *(f"int4send(COALESCE(distinct_{name}.position, 0))"
                                          for name in RECORD_FIELDS)])
    joins = " ".join(f"LEFT JOIN distinct_{name} ON distinct_{name}.value = p.{name}" for name in RECORD_FIELDS)
    packed = cursor.execute(f"SELECT string_agg({row}, ''::bytea) FROM {table} AS p {joins}",
                            binary=True).fetchone()[0]
    return np.frombuffer(packed or b"", _PERSON_POSITIONS)


# One person as the database sends it: id (int8), then their position (int4) in each field's distinct
# values, big-endian
_PERSON_POSITIONS = np.dtype([("id", ">i8"), *((name, ">i4") for name in RECORD_FIELDS)])


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


class LivePopulation:
    """One process's population indexes, kept live: refreshed incrementally on every :meth:`get`."""

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
        """The index's millions of objects live as long as the process: collected while they are made,
        they cost a third of the build; left to the collector afterwards, every full collection walks
        them all (0.5 s every few files at 1,000,000 persons). Frozen, the collector skips them; they
        are still freed by reference count when an index is replaced."""
        with collector_paused():
            try:
                self._build_indexes(session, model, carer_min, today)
            finally:
                gc.freeze()

    def _build_indexes(self, session: Session, model: MatchModel, carer_min: int, today: date) -> None:
        self._watermark = utcnow()
        conn = session.connection()
        read = _coded_with_postgresql if conn.dialect.name == "postgresql" else _coded_here
        coder = Coder()
        everyone = PopulationIndex.from_coded(coder, read(conn, coder), model.settings)
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
        recent = session.execute(select(*PERSON_COLUMNS).where(Person.updated_at >= since))
        changed = population.everyone.changed([person_record(row) for row in recent])
        if changed:
            population.everyone.add(changed)
            population.carers.add([r for r in changed if self._eligible(r, carer_min, today)])
            population.carers.remove([r.id for r in changed if not self._eligible(r, carer_min, today)])
        erased = _erased_since(session, since)
        population.everyone.remove(erased)
        population.carers.remove(erased)


_LIVE: weakref.WeakKeyDictionary[Engine, LivePopulation] = weakref.WeakKeyDictionary()
_LIVE_LOCK = threading.Lock()


def live_population(engine: Engine) -> LivePopulation:
    """The process's live population of one database."""
    with _LIVE_LOCK:
        live = _LIVE.get(engine)
        if live is None:
            live = _LIVE[engine] = LivePopulation()
        return live
