"""Data-protection requests for one person: export everything held, or erase it.

Export gathers every row that is the person's or names them, keyed by table name.
Erase deletes the person and what hangs off them, blanks the personal fields of incoming
records matched to them (or still waiting with them as a candidate), replaces audit
before/after values that carry their data by a tombstone, and records one audit entry
"person erased" that holds no personal data. The encrypted transfer files that mention
the person are listed; ``purge_files`` empties those already processed (as Delete Files does).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from ..db import (PERSON_ERASED, AttainmentResult, AuditEntry, Base, CacheEntry, CarerLink, Conflict, Enrolment, FilePart, Finding,
                  IncomingRecord, MatchCandidate, Person, PersonIdentifier, SuspenseItem, VirtualFile, utcnow)
from ..errors import ValidationFailed
from ..persons import get_person
from ..security import audit

__all__ = ["export_person", "erase_person", "ERASED"]

ERASED = {"erased": "data-protection request"}
_WAITING = ("pending", "unmatched")
_PURGEABLE = ("Processed", "Rejected")
_BLANK_INCOMING = dict(sims_guid="", upn="", forename="", middle_names="", surname="", preferred_surname="",
                       dob=None, gender="", address="", town="", postcode="", data=None, explanation=None,
                       reason="erased (data-protection request)")


def _value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} encrypted bytes>"
    return value


def _row(row: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    return {c.key: _value(getattr(row, c.key)) for c in row.__mapper__.column_attrs if c.key not in skip}


def _rows(session: Session, query) -> list[dict[str, Any]]:
    return [_row(r) for r in session.scalars(query)]


def _mentions(person: Person) -> list[str]:
    """Strings whose presence marks a text as carrying this person's data."""
    return [s for s in (person.upn, person.surname) if s and len(s) >= 2]


def _carries(text: str, person: Person) -> bool:
    if person.upn and person.upn in text:
        return True
    name = bool(person.surname) and person.surname in text and (not person.forename or person.forename in text)
    born = person.dob is not None and person.dob.isoformat() in text
    return name or (born and bool(person.surname) and person.surname in text)


def _entry_text(entry: AuditEntry) -> str:
    return " ".join([json.dumps(entry.before, ensure_ascii=False, default=str),
                     json.dumps(entry.after, ensure_ascii=False, default=str), entry.detail or ""])


class _Holdings:
    """Ids of what the person has or is named in, gathered once for export and erase."""

    def __init__(self, session: Session, person: Person) -> None:
        self.person = person
        pid = person.id
        self.matched_ids = list(session.scalars(select(IncomingRecord.id).where(IncomingRecord.person_id == pid)))
        self.candidate_ids = list(session.scalars(select(MatchCandidate.incoming_id)
                                                  .where(MatchCandidate.person_id == pid).distinct()))
        self.conflict_ids = list(session.scalars(select(Conflict.id).where(Conflict.person_id == pid)))
        guids = session.execute(select(PersonIdentifier.base_id, PersonIdentifier.sims_guid)
                                .where(PersonIdentifier.person_id == pid)).all()
        theirs = [SuspenseItem.upn == person.upn] if person.upn else []
        theirs += [(SuspenseItem.base_id == b) & (SuspenseItem.sims_guid == g) for b, g in guids]
        self.suspense_ids = list(session.scalars(select(SuspenseItem.id).where(or_(*theirs)))) if theirs else []
        self.audit = self._audit(session)

    def incoming_ids(self) -> list[int]:
        return sorted(set(self.matched_ids) | set(self.candidate_ids))

    def _audit(self, session: Session) -> list[AuditEntry]:
        objects = [(AuditEntry.object_type == "person") & (AuditEntry.object_id == str(self.person.id))]
        for kind, ids in (("incoming_record", self.incoming_ids()), ("conflict", self.conflict_ids),
                          ("suspense_item", self.suspense_ids)):
            if ids:
                objects.append((AuditEntry.object_type == kind) & AuditEntry.object_id.in_([str(i) for i in ids]))
        texts = []
        for needle in _mentions(self.person):
            for form in {needle, json.dumps(needle)[1:-1]}:  # JSON text may escape non-ASCII
                texts += [cast(AuditEntry.before, Text).contains(form), cast(AuditEntry.after, Text).contains(form),
                          AuditEntry.detail.contains(form)]
        by_object = set(session.scalars(select(AuditEntry.id).where(or_(*objects))))
        entries = session.scalars(select(AuditEntry).where(or_(*objects, *texts)).order_by(AuditEntry.id)).all()
        return [e for e in entries if e.id in by_object or _carries(_entry_text(e), self.person)]


def _files(session: Session, holdings: _Holdings) -> list[VirtualFile]:
    incoming_files = select(IncomingRecord.file_id).where(IncomingRecord.id.in_(holdings.incoming_ids()))
    return list(session.scalars(select(VirtualFile).where(VirtualFile.id.in_(incoming_files))
                                .order_by(VirtualFile.received_at)))


def export_person(session: Session, person_id: int | str) -> dict[str, Any]:
    """Everything held about one person, keyed by table name (JSON-ready).

    Raises:
        NotFound: no such person.
    """
    person = get_person(session, person_id)
    held = _Holdings(session, person)
    pid, incoming = person.id, held.incoming_ids()
    identifiers = session.execute(select(PersonIdentifier, Base.laestab).join(Base, Base.id == PersonIdentifier.base_id)
                                  .where(PersonIdentifier.person_id == pid)).all()
    return {
        "exported_at": _value(utcnow()),
        "persons": [_row(person)],
        "person_identifiers": [dict(_row(i), laestab=laestab) for i, laestab in identifiers],
        "carer_links": _rows(session, select(CarerLink).where(or_(CarerLink.child_id == pid,
                                                                   CarerLink.carer_id == pid))),
        "enrolments": _rows(session, select(Enrolment).where(Enrolment.person_id == pid)),
        "incoming_records": _rows(session, select(IncomingRecord).where(IncomingRecord.id.in_(incoming))
                                  .order_by(IncomingRecord.id)),
        "match_candidates": _rows(session, select(MatchCandidate).where(MatchCandidate.person_id == pid)),
        "findings": _rows(session, select(Finding).where(Finding.incoming_id.in_(held.matched_ids))),
        "conflicts": _rows(session, select(Conflict).where(Conflict.person_id == pid).order_by(Conflict.id)),
        "b2b_cache": _rows(session, select(CacheEntry).where(CacheEntry.person_id == pid)),
        "attainment_results": _rows(session, select(AttainmentResult).where(AttainmentResult.person_id == pid)),
        "suspense_items": _rows(session, select(SuspenseItem).where(SuspenseItem.id.in_(held.suspense_ids))),
        "virtual_files": [_row(f, skip=("content", "errors")) for f in _files(session, held)],
        "audit_log": [_row(e) for e in held.audit],
    }


def _blockers(session: Session, held: _Holdings) -> list[str]:
    pid = held.person.id
    found = []
    open_conflicts = session.scalar(select(Conflict.id).where(Conflict.person_id == pid, Conflict.status == "open")
                                    .limit(1))
    if open_conflicts is not None:
        found.append("open conflicts")
    waiting = session.scalar(select(IncomingRecord.id).where(IncomingRecord.id.in_(held.incoming_ids()),
                                                             IncomingRecord.status.in_(_WAITING)).limit(1))
    if waiting is not None:
        found.append("incoming records waiting for review that name them")
    if held.suspense_ids and session.scalar(select(SuspenseItem.id).where(
            SuspenseItem.id.in_(held.suspense_ids), SuspenseItem.status == "open").limit(1)) is not None:
        found.append("open suspense items")
    return found


def _blank_incoming(session: Session, held: _Holdings) -> int:
    """Blank incoming records matched to the person, or candidate-linked and not someone else's."""
    candidate_only = select(IncomingRecord.id).where(IncomingRecord.id.in_(held.candidate_ids),
                                                     or_(IncomingRecord.person_id.is_(None),
                                                         IncomingRecord.person_id == held.person.id))
    ids = sorted(set(held.matched_ids) | set(session.scalars(candidate_only)))
    # Someone else's record keeps its data but loses the explanation that may quote this person.
    others = sorted(set(held.candidate_ids) - set(ids))
    if others:
        session.execute(update(IncomingRecord).where(IncomingRecord.id.in_(others)).values(explanation=None)
                        .execution_options(synchronize_session=False))
    if ids:
        session.execute(delete(Finding).where(Finding.incoming_id.in_(ids)))
        session.execute(update(IncomingRecord).where(IncomingRecord.id.in_(ids))
                        .values(person_id=None, **_BLANK_INCOMING).execution_options(synchronize_session=False))
    return len(ids)


def _tombstone_audit(held: _Holdings) -> int:
    for entry in held.audit:
        entry.before = ERASED if entry.before is not None else None
        entry.after = ERASED if entry.after is not None else None
        if _carries(entry.detail or "", held.person):
            entry.detail = "(erased)"
    return len(held.audit)


def _purge(session: Session, files: list[VirtualFile]) -> tuple[list[str], list[str]]:
    purged = [f.id for f in files if f.status in _PURGEABLE and f.content is not None]
    if purged:
        session.execute(delete(FilePart).where(FilePart.file_id.in_(purged)))
        session.execute(update(VirtualFile).where(VirtualFile.id.in_(purged))
                        .values(content=None, errors=None, deleted_at=utcnow())
                        .execution_options(synchronize_session=False))
    kept = [f.id for f in files if f.id not in purged and f.content is not None]
    return purged, kept


def erase_person(session: Session, person_id: int | str, actor: str, force: bool = False,
                 purge_files: bool = False) -> dict[str, Any]:
    """Erase one person across all tables; returns what was removed or anonymised.

    Raises:
        NotFound: no such person.
        ValidationFailed: the person is still in an unresolved queue and ``force`` is false.
    """
    person = get_person(session, person_id)
    held = _Holdings(session, person)
    blockers = _blockers(session, held)
    if blockers and not force:
        raise ValidationFailed(f"person {person.id} is in an unresolved queue ({', '.join(blockers)}); "
                               "resolve it first or use --force")
    pid = person.id
    files = _files(session, held)
    counts: dict[str, Any] = {"incoming_records_blanked": _blank_incoming(session, held)}
    for name, statement in (
            ("match_candidates", delete(MatchCandidate).where(MatchCandidate.person_id == pid)),
            ("b2b_cache", delete(CacheEntry).where(CacheEntry.person_id == pid)),
            ("conflicts", delete(Conflict).where(Conflict.person_id == pid)),
            ("attainment_results", delete(AttainmentResult).where(AttainmentResult.person_id == pid)),
            ("enrolments", delete(Enrolment).where(Enrolment.person_id == pid)),
            ("carer_links", delete(CarerLink).where(or_(CarerLink.child_id == pid, CarerLink.carer_id == pid))),
            ("person_identifiers", delete(PersonIdentifier).where(PersonIdentifier.person_id == pid)),
            ("suspense_items", delete(SuspenseItem).where(SuspenseItem.id.in_(held.suspense_ids)))):
        counts[name] = session.execute(statement).rowcount
    counts["audit_entries_tombstoned"] = _tombstone_audit(held)
    session.delete(person)
    session.flush()
    purged, kept = _purge(session, files) if purge_files else ([], [f.id for f in files if f.content is not None])
    counts.update(person_id=pid, forced=bool(blockers), files_purged=purged, files_still_holding=kept)
    audit(session, actor, PERSON_ERASED, "person", pid, None,
          {k: v for k, v in counts.items() if k not in ("files_purged", "files_still_holding")},
          detail="person erased")
    return counts
