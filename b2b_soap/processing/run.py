"""Processing one virtual file: read and validate, link, then write everything in one transaction.

Reading, parsing and matching touch no rows; the write phase then replaces whatever the
file's records were (none, unless an earlier run was cut short before its commit) and
marks the file ``Processed`` in the same transaction. So a worker killed at any point
leaves either nothing or one complete run, and the next claim starts again cleanly.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..defaults import SystemDefaults, load_defaults
from ..context import AppContext
from ..db import (Base, Finding, IncomingRecord, MatchCandidate, QueueEntry, VirtualFile, bulk_insert, reserve_ids,
                  session_scope, utcnow)
from ..errors import NotFound
from ..files import Claim, claim_next, finish, give_back, read_content, reject
from ..transfer import FileError, check_header, parse_pupils, validate_transfer
from ..transfer.errors import TransferError
from .after_match import AfterMatch, MatchedRecord
from .incoming import Parsed, parsed_records
from .linking import Outcome, link_batch
from .population import LivePopulation, collector_paused, live_population
from .review_queue import OPEN, ReviewQueue
from .. import metrics

__all__ = ["FileResult", "Phases", "process_next", "run_pending", "process_claimed", "worker_name", "LostClaim"]

log = logging.getLogger("b2b_soap.processing")


class Phases:
    """Seconds spent in each step of processing one file, in the order first reached."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def done(self, phase: str) -> None:
        """The time since the previous step ended was spent in ``phase``."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._mark
        self._mark = now

    def __str__(self) -> str:
        return " ".join(f"{phase}={seconds:.3f}s" for phase, seconds in self.seconds.items())


class LostClaim(Exception):
    """The lease ran out and another worker took the file; this run's writes are dropped."""


@dataclass(frozen=True)
class FileResult:
    file_id: str
    status: str                 # Processed | Rejected | Failed | Retry
    pupils: int = 0
    matched: int = 0
    unmatched: int = 0
    conflicts: int = 0
    message: str = ""
    phases: Phases = field(default_factory=Phases, compare=False)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _enrolment(p: Parsed) -> dict[str, Any]:
    data = p.row["data"]
    as_date = lambda text: date.fromisoformat(text) if text else None  # noqa: E731
    return {"ncy": p.row["ncy"], "enrol_status": data.get("enrol_status") or "",
            "entry_date": as_date(data.get("entry_date")), "leaving_date": as_date(data.get("leaving_date"))}


def _carer(p: Parsed) -> dict[str, Any]:
    data = p.row["data"]
    return {"relationship": (data.get("relationship") or "")[:40],
            "parental_responsibility": bool(data.get("parental_responsibility")),
            "priority": data.get("priority") or 1}


def matched_records(parsed: Sequence[Parsed], outcomes: dict[int, Outcome], ids: dict[int, int]
                    ) -> list[MatchedRecord]:
    """What the after-match step needs for each matched record."""
    found = []
    for p in parsed:
        outcome = outcomes[p.seq]
        if outcome.status != "matched":
            continue
        record = MatchedRecord(ids[p.seq], outcome.person_id, p.kind, p.row["sims_guid"], p.trusted)
        if p.kind == "pupil":
            record.enrolment = _enrolment(p)
        else:
            record.child_id, record.carer = outcomes[p.parent_seq].person_id, _carer(p)
        found.append(record)
    return found


# the pupil columns a contact has not: with them, pupils and contacts have the same keys (one COPY)
_PUPIL_ONLY = {"pupil_id": None, "upn": "", "middle_names": "", "preferred_surname": "", "dob": None, "ncy": ""}


def _record_row(vf: VirtualFile, p: Parsed, outcome: Outcome, now, ids: dict[int, int]) -> dict[str, Any]:
    decided = outcome.status != OPEN
    return {**_PUPIL_ONLY, **p.row, "pupil_id": ids.get(p.parent_seq), "file_id": vf.id, "base_id": vf.base_id,
            "seq": p.seq, "status": outcome.status, "decision": outcome.decision, "person_id": outcome.person_id,
            "score": outcome.score, "has_candidates": bool(outcome.candidates) and outcome.status != "matched",
            "reason": outcome.reason, "explanation": outcome.explanation, "received_at": vf.received_at,
            "decided_at": now if decided else None, "decided_by": "processing" if decided else ""}


def _insert_records(session: Session, vf: VirtualFile, parsed: list[Parsed], outcomes: dict[int, Outcome],
                    now) -> dict[int, int]:
    """Insert the file's pupils, then its contacts; their ids by seq.

    On PostgreSQL the ids are taken from the sequence first, so both go in one COPY and nothing
    is read back; elsewhere each kind is inserted, then its ids are read back by seq.
    """
    records = [p for p in parsed if p.kind == "pupil"] + [p for p in parsed if p.kind == "contact"]
    table = IncomingRecord.__table__
    reserved = reserve_ids(session.connection(), table, len(records))
    if reserved is None:
        ids: dict[int, int] = {}
        for kind in ("pupil", "contact"):
            ids.update(_insert_kind(session, vf.id, [_record_row(vf, p, outcomes[p.seq], now, ids)
                                                     for p in records if p.kind == kind]))
        return ids
    ids = {p.seq: id_ for p, id_ in zip(records, reserved)}
    bulk_insert(session.connection(), table,
                [{"id": ids[p.seq], **_record_row(vf, p, outcomes[p.seq], now, ids)} for p in records])
    return ids


def _insert_kind(session: Session, vf_id: str, rows: list[dict]) -> dict[int, int]:
    """Bulk insert records of one kind, then read the new ids back by seq."""
    if not rows:
        return {}
    bulk_insert(session.connection(), IncomingRecord.__table__, rows)
    seqs = [r["seq"] for r in rows]
    return dict(session.execute(select(IncomingRecord.seq, IncomingRecord.id).where(
        IncomingRecord.file_id == vf_id, IncomingRecord.seq.between(min(seqs), max(seqs)),
        IncomingRecord.kind == rows[0]["kind"])).all())


def _write(session: Session, vf: VirtualFile, parsed: list[Parsed], outcomes: dict[int, Outcome],
           defaults: SystemDefaults) -> FileResult:
    session.execute(delete(Finding).where(Finding.file_id == vf.id))
    session.execute(delete(IncomingRecord).where(IncomingRecord.file_id == vf.id))
    queue = ReviewQueue(session, vf, parsed)
    queue.settle(parsed, outcomes)
    now = utcnow()
    ids = _insert_records(session, vf, parsed, outcomes, now)
    queue.supersede(ids)
    candidates = [{"incoming_id": ids[p.seq], **c} for p in parsed
                  if outcomes[p.seq].status != "matched" for c in outcomes[p.seq].candidates]
    bulk_insert(session.connection(), MatchCandidate.__table__, candidates)
    findings = [{"file_id": vf.id, "incoming_id": ids[p.seq], "code": f.code, "field": f.field,
                 "message": f.message, "created_at": now} for p in parsed for f in p.findings]
    bulk_insert(session.connection(), Finding.__table__, findings)
    conflicts = AfterMatch(session, vf.base_id, vf.id, "processing", defaults.b2bhcache).apply(
        matched_records(parsed, outcomes, ids))
    pupils = [outcomes[p.seq] for p in parsed if p.kind == "pupil"]
    result = FileResult(vf.id, "Processed", len(pupils), sum(o.status == "matched" for o in pupils),
                        sum(o.status == OPEN for o in pupils), conflicts)
    session.execute(update(VirtualFile).where(VirtualFile.id == vf.id).values(
        status="Processed", processed_at=now, failure="", pupil_count=result.pupils,
        matched_count=result.matched, unmatched_count=result.unmatched, conflict_count=result.conflicts)
        .execution_options(synchronize_session=False))
    return result


def _read(ctx: AppContext, vf: VirtualFile, laestab: str, today: date) -> tuple[list[Parsed], list[FileError]]:
    """The file's records, or why it is rejected: the XSD and the header against the sender.

    The content is decoded once; lxml validates the whole file, then the reader streams over
    the same bytes (``bench/validate_while_parsing.py``: as fast as validating inside the
    streaming parse, which moreover lets a truncated file through silently).
    """
    data = read_content(ctx.keyring, vf)
    result = validate_transfer(data, "Student")
    errors = result.errors if not result.ok else check_header(
        result.header, laestab, ctx.settings.la.number, task_id=vf.task_id, file_guid=vf.file_guid)
    if errors:
        return [], errors
    return list(parsed_records(parse_pupils(data), today)), []


def _reject(ctx: AppContext, claim: Claim, laestab: str, errors: list[FileError]) -> FileResult:
    with session_scope(ctx.sessions) as session:
        if not finish(session, claim):
            raise LostClaim(f"file {claim.file_id}: the claim ran out before the rejection was written")
        reject(session, ctx.settings, session.get(VirtualFile, claim.file_id), laestab, errors)
    return FileResult(claim.file_id, "Rejected", message=f"{len(errors)} errors")


def process_claimed(ctx: AppContext, claim: Claim, live: LivePopulation | None = None,
                    today: date | None = None, phases: Phases | None = None) -> FileResult:
    """Process a file this worker has claimed; raises on failure (the caller decides what next).

    Without cyclic garbage collection: a file makes tens of thousands of short-lived objects
    (records, outcomes, rows), freed by reference count when it is done; collected while they
    live, the collector walks them a few hundred times per file (40-90 ms of a 2,000-pupil file).
    Cycles among them wait for the next collection after the file.
    """
    with collector_paused():
        return _process_claimed(ctx, claim, live, today, phases)


def _process_claimed(ctx: AppContext, claim: Claim, live: LivePopulation | None,
                     today: date | None, phases: Phases | None) -> FileResult:
    started = time.perf_counter()
    phases = phases or Phases()
    live = live or live_population(ctx.engine)
    today = today or date.today()
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, claim.file_id)
        laestab = session.get(Base, vf.base_id).laestab
        parsed, errors = _read(ctx, vf, laestab, today)
        phases.done("parse")
        if not errors:
            defaults = load_defaults(session, ctx.settings)
            population = live.get(session, defaults.carer_min, today)
            phases.done("refresh")
            outcomes = link_batch(session, parsed, vf.base_id, population, defaults.guidmatch)
            phases.done("match")
        session.expunge(vf)
    if errors:
        return _reject(ctx, claim, laestab, errors)
    with session_scope(ctx.sessions) as session:
        if not finish(session, claim):
            raise LostClaim(f"file {claim.file_id}: the claim ran out before the results were written")
        result = _write(session, vf, parsed, outcomes, defaults)
        phases.done("write")
    phases.done("commit")
    metrics.file_processed(vf.data_type, (o.decision for o in outcomes.values()), time.perf_counter() - started)
    return replace(result, phases=phases)


def _after_failure(ctx: AppContext, claim: Claim, error: Exception) -> FileResult:
    permanent = isinstance(error, (TransferError, NotFound))  # no content: no retry helps
    message = f"{error.__class__.__name__}: {error}"
    with session_scope(ctx.sessions) as session:
        if permanent or claim.attempt >= ctx.settings.processing.max_attempts:
            _fail(session, claim.file_id, message if permanent else
                  f"gave up after {claim.attempt} attempts; last error: {message}")
            return FileResult(claim.file_id, "Failed", message=message)
        give_back(session, claim, message)
        return FileResult(claim.file_id, "Retry", message=message)


def _fail(session: Session, file_id: str, reason: str) -> None:
    session.execute(delete(QueueEntry).where(QueueEntry.file_id == file_id))
    session.execute(update(VirtualFile).where(VirtualFile.id == file_id)
                    .values(status="Failed", failure=reason[:4000], processed_at=utcnow())
                    .execution_options(synchronize_session=False))


def process_next(ctx: AppContext, worker: str | None = None, live: LivePopulation | None = None,
                 today: date | None = None) -> FileResult | None:
    """Claim and process one waiting file; None when the queue has nothing ready."""
    worker = worker or worker_name()
    phases = Phases()
    with session_scope(ctx.sessions) as session:
        claim = claim_next(session, worker, lease_seconds=ctx.settings.processing.lease_seconds)
    phases.done("claim")
    if claim is None:
        return None
    if claim.attempt > ctx.settings.processing.max_attempts:
        with session_scope(ctx.sessions) as session:
            _fail(session, claim.file_id, f"processing stopped {claim.attempt - 1} times without finishing "
                                          "(worker killed or out of memory)")
        return FileResult(claim.file_id, "Failed", message="too many interrupted attempts")
    try:
        result = process_claimed(ctx, claim, live, today, phases)
    except LostClaim as error:
        log.warning("%s", error)
        return FileResult(claim.file_id, "Retry", message=str(error))
    except Exception as error:  # any failure is recorded on the file, never lost
        log.error("processing file %s failed (attempt %d): %s", claim.file_id, claim.attempt,
                  error.__class__.__name__)
        log.debug("processing failure", exc_info=True)
        return _after_failure(ctx, claim, error)
    if result.status == "Rejected":
        log.info("rejected file %s: %s", result.file_id, result.message)
        return result
    log.info("processed file %s: %d pupils, %d matched, %d unmatched, %d conflicts; %s", result.file_id,
             result.pupils, result.matched, result.unmatched, result.conflicts, result.phases)
    return result


def run_pending(ctx: AppContext, worker: str | None = None, limit: int | None = None) -> list[FileResult]:
    """Process waiting files until none is ready (or ``limit`` files): the one-off run."""
    results: list[FileResult] = []
    while limit is None or len(results) < limit:
        result = process_next(ctx, worker)
        if result is None:
            break
        results.append(result)
    return results
