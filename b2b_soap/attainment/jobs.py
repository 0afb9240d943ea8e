"""The attainment import job: load every waiting file of the import directory.

Per file, in its own transaction: read the header, find the aspect hierarchy it names
(else its task's), resolve every pupil through the matching engine's links, check each
result against its aspect and store it. Results that cannot be placed become suspense
items plus a suspense file; a file with none left is deleted at once. A file that cannot
be imported at all stays where it is, ``failed`` with its error, until retried or deleted.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..context import AppContext
from ..db import (Aspect, AspectHierarchy, AttainmentImport, Base, ScheduledTask, SuspenseItem, VirtualFile,
                  session_scope, utcnow)
from ..licensing import ATTAINMENT_FEATURES, require_features
from ..security import audit
from ..transfer import AttainmentPupil, TransferError, TransferHeader, parse_attainment, parse_header
from ..transfer import AttainmentResult as FileResult
from .directories import check_directories, remove_file
from .hierarchies import hierarchy_aspects
from .placing import Placement, PupilResolver, check_value, store_results
from .suspense import write_suspense_file

__all__ = ["import_attainment", "import_file", "ImportFailed"]

log = logging.getLogger(__name__)


class ImportFailed(Exception):
    """The whole file cannot be imported; the message is recorded on it and listed."""


def import_attainment(ctx: AppContext, retry_failed: bool = False, file_id: str | None = None,
                      actor: str = "attainment-import",
                      stop: threading.Event | None = None) -> dict[str, int]:
    """Import every waiting file (and failed ones with ``retry_failed``); the maintenance action.

    Args:
        ctx: the app context.
        retry_failed: also retry files that failed before (after the LA fixed the cause).
        file_id: only this file.
        actor: who runs it, for the audit log.
        stop: set by the scheduler on shutdown; the job stops between files.

    Returns:
        Counts: files, imported, suspense, failed, results, suspended.

    Raises:
        NotLicensed: the licence lacks a B2B Student, Pulse or B2B Attainment feature.
        UnsafeDirectory: an attainment directory is not private.
    """
    with session_scope(ctx.sessions) as session:
        require_features(session, ctx.settings, *ATTAINMENT_FEATURES)
        statuses = ("waiting", "failed") if retry_failed else ("waiting",)
        query = select(AttainmentImport.file_id).where(AttainmentImport.status.in_(statuses))
        if file_id:
            query = query.where(AttainmentImport.file_id == file_id)
        file_ids = list(session.scalars(query.order_by(AttainmentImport.written_at)))
    check_directories(ctx.settings)
    counts = {"files": 0, "imported": 0, "suspense": 0, "failed": 0, "results": 0, "suspended": 0}
    for one in file_ids:
        if stop is not None and stop.is_set():
            break
        outcome = _import_claimed(ctx, one, statuses, actor)
        if outcome is None:
            continue  # another worker has it, or it changed meanwhile
        counts["files"] += 1
        counts[outcome["status"]] += 1
        counts["results"] += outcome["results"]
        counts["suspended"] += outcome["suspended"]
    return counts


def _import_claimed(ctx: AppContext, file_id: str, statuses: tuple[str, ...], actor: str) -> dict | None:
    try:
        with session_scope(ctx.sessions) as session:
            record = session.scalar(
                select(AttainmentImport).where(AttainmentImport.file_id == file_id,
                                               AttainmentImport.status.in_(statuses))
                .with_for_update(skip_locked=True))
            if record is None:
                return None
            outcome = import_file(session, ctx.settings, record)
            audit(session, actor, "attainment.import", "virtual_file", file_id, None,
                  {k: outcome[k] for k in ("status", "results", "suspended")})
        if outcome["status"] == "imported":
            remove_file(outcome["path"])  # only once the results are committed
        return outcome
    except ImportFailed as exc:
        error = str(exc)
    except Exception as exc:  # one bad file must not stop the others
        log.exception("attainment file %s could not be imported", file_id)
        error = f"unexpected error: {type(exc).__name__}: {exc}"[:2000]
    with session_scope(ctx.sessions) as session:
        record = session.get(AttainmentImport, file_id)
        record.status, record.error, record.attempted_at = "failed", error, utcnow()
        file = session.get(VirtualFile, file_id)
        file.status, file.failure, file.processed_at = "Failed", error, utcnow()
        audit(session, actor, "attainment.import", "virtual_file", file_id, None,
              {"status": "failed", "error": error})
    log.warning("attainment file %s failed: %s", file_id, error)
    return {"status": "failed", "results": 0, "suspended": 0}


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImportFailed(f"the file is no longer in the import directory ({path})") from None
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from None


def _hierarchy(session: Session, header: TransferHeader, file: VirtualFile) -> AspectHierarchy:
    name = header.aspect_hierarchy or ""
    hierarchy = session.scalar(select(AspectHierarchy).where(AspectHierarchy.name == name))
    if hierarchy is None and file.task_id is not None:
        task = session.get(ScheduledTask, file.task_id)
        if task is not None and task.aspect_hierarchy_id is not None:
            hierarchy = session.get(AspectHierarchy, task.aspect_hierarchy_id)
    if hierarchy is None:
        raise ImportFailed(f"aspect hierarchy {name!r} named in the file is not defined and its task names "
                           "none; add it (b2b-soap hierarchy add/load), then retry the file")
    return hierarchy


def _parse(data: bytes, base: Base) -> tuple[TransferHeader, list[AttainmentPupil]]:
    try:
        header = parse_header(data, "Attainment")
        pupils = list(parse_attainment(data))
    except TransferError as exc:
        raise ImportFailed(f"not a readable attainment file: {exc}") from None
    if header.source_laestab != base.laestab:
        raise ImportFailed(f"SourceLAESTAB {header.source_laestab} is not the sending base {base.laestab}")
    return header, pupils


def import_file(session: Session, settings: Settings, record: AttainmentImport) -> dict[str, Any]:
    """Import one file; the caller holds its row, commits, then deletes an ``imported`` file.

    Raises:
        ImportFailed: the file cannot be imported at all.
    """
    file = session.get(VirtualFile, record.file_id)
    base = session.get(Base, file.base_id)
    header, pupils = _parse(_read(record.path), base)
    hierarchy = _hierarchy(session, header, file)
    in_hierarchy = {a.code for a in hierarchy_aspects(session, hierarchy.id)}
    aspects = {a.code: a for a in session.scalars(select(Aspect))}
    resolver = PupilResolver(session, base.id)
    resolver.load((p.sims_guid for p in pupils), (p.upn for p in pupils))
    placements, suspended, unmatched = [], [], 0
    for pupil in pupils:
        person_id, pupil_problem = resolver.resolve(pupil.sims_guid, pupil.upn)
        unmatched += person_id is None
        for result in pupil.results:
            aspect = aspects.get(result.aspect_code)
            problems = _problems(aspect, result.aspect_code, result.value, in_hierarchy, hierarchy.name)
            if pupil_problem:
                problems = {"pupil": pupil_problem, **problems}
            if problems:
                suspended.append(_suspense_item(record, base, hierarchy, pupil, result, person_id, aspect,
                                                problems))
            else:
                value, _ = check_value(aspect, result.value)
                placements.append(Placement(person_id, aspect.id, value, result.collection_date, pupil.ncy))
    stored = store_results(session, base.id, hierarchy.id, record.file_id, placements)
    record.attempted_at, record.error = utcnow(), ""
    # What GetFileStatus shows the school: attainment files are processed here, not by the matcher.
    file.status, file.processed_at, file.failure = "Processed", utcnow(), ""
    file.pupil_count, file.unmatched_count = len(pupils), unmatched
    file.matched_count = len(pupils) - unmatched
    if suspended:
        session.add_all(suspended)
        session.flush()
        write_suspense_file(settings, record.file_id, base.laestab, hierarchy.name, suspended)
        record.status = "suspense"
    else:
        record.status, record.imported_at = "imported", utcnow()
    return {"status": record.status, "results": stored, "suspended": len(suspended), "path": record.path}


def _problems(aspect: Aspect | None, code: str, value: str, in_hierarchy: set[str],
              hierarchy: str) -> dict[str, str]:
    if aspect is None:
        return {"aspect": f"aspect {code} is not defined"}
    if code not in in_hierarchy:
        return {"aspect": f"aspect {code} is not in hierarchy {hierarchy!r}"}
    _, problem = check_value(aspect, value)
    return {"value": problem} if problem else {}


def _suspense_item(record: AttainmentImport, base: Base, hierarchy: AspectHierarchy, pupil: AttainmentPupil,
                   result: FileResult, person_id: int | None, aspect: Aspect | None,
                   problems: dict[str, str]) -> SuspenseItem:
    aspect_id = aspect.id if aspect is not None and "aspect" not in problems else None
    return SuspenseItem(
        file_id=record.file_id, base_id=base.id, sims_guid=pupil.sims_guid, upn=pupil.upn,
        forename=pupil.forename, surname=pupil.surname, dob=pupil.dob, ncy=pupil.ncy,
        aspect_code=result.aspect_code, value=result.value, collection_date=result.collection_date,
        reason="; ".join(problems.values()), status="open", resolved_by="",
        detail={"problems": problems, "person_id": person_id, "aspect_id": aspect_id,
                "hierarchy_id": hierarchy.id, "line": pupil.line})
