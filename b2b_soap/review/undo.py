"""Undo a decision on an incoming record: reopen it, or re-match it to another person.

A decision (automatic or by hand) covers every record of one base, kind and SIMS GUID
that it matched to the same person or rejected: the copies it settled and the records
of later files that followed the GUID link. Undoing reverses, in one transaction, what
those records caused:

- the GUID link (base + SIMS GUID -> person);
- conflicts they opened: open ones are closed as ``undone``; a taken one puts the LA's
  value back when the person still holds the taken value;
- empty fields they filled, when the person still holds the filled value;
- the B2B cache entries and the enrolment their files wrote for the person;
- carer links they made, unless another matched pupil and contact still make the link;
- a person created from the record, which is removed when nothing else refers to it
  (no other record, link, enrolment, conflict, candidate, cache entry or result) and kept
  otherwise, with the reason shown before and audited.

Afterwards one record is open again (the newest of the group: its values are the
freshest) and the others are ``superseded`` by it, so there stays one open review item
per base and SIMS GUID.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from ..db import (AttainmentResult, AuditEntry, CacheEntry, CarerLink, Conflict, Enrolment, IncomingRecord,
                  MatchCandidate, Person, PersonIdentifier, utcnow)
from ..db.accounts import PERSON_ERASED
from ..errors import ValidationFailed
from ..processing.after_match import person_value, same_value
from ..processing.review_queue import OPEN, REJECTED, SUPERSEDED, count_decided
from ..security import UNMATCHED, audit
from ._access import Actor, allow, check, incoming_by_id

__all__ = ["undo_plan", "reopen_incoming", "Undo"]

_FILL = "person.fill"


class Undo:
    """What undoing the decision on one record changes, read once; ``apply`` makes the change."""

    def __init__(self, session: Session, record: IncomingRecord) -> None:
        if record.status not in ("matched", REJECTED):
            raise ValidationFailed(f"incoming record {record.id} is {record.status}: only a matched or rejected "
                                   "record can be reopened")
        self.session, self.record = session, record
        self.group = self._group()
        self.ids = [r.id for r in self.group]
        self.reopened = max(self.group, key=lambda r: (r.received_at, r.id))
        # an erased person leaves a matched record without one: only the record is reopened
        self.person = session.get(Person, record.person_id) if record.person_id else None
        self.created = self.person is not None and any(r.decision == "new" for r in self.group)
        if self.person is None:
            self.link, self.conflicts, self.filled, self.enrolment, self.carer_links = None, [], {}, None, []
            self.kept_because = ""
            return
        self.link = self._guid_link()
        self.conflicts = self._conflicts()
        self.filled = self._filled()
        self.enrolment = self._enrolment()
        self.carer_links = self._carer_links()
        self.kept_because = self._kept_because() if self.created else ""

    def _group(self) -> list[IncomingRecord]:
        record = self.record
        if not record.sims_guid:
            return [record]
        same = [IncomingRecord.base_id == record.base_id, IncomingRecord.kind == record.kind,
                IncomingRecord.sims_guid == record.sims_guid, IncomingRecord.status == record.status]
        if record.status == "matched":
            same.append(IncomingRecord.person_id == record.person_id)
        return list(self.session.scalars(select(IncomingRecord).where(*same).order_by(IncomingRecord.id)))

    def _guid_link(self) -> PersonIdentifier | None:
        if not self.record.sims_guid:
            return None
        return self.session.scalar(select(PersonIdentifier).where(
            PersonIdentifier.base_id == self.record.base_id, PersonIdentifier.sims_guid == self.record.sims_guid,
            PersonIdentifier.person_id == self.person.id))

    def _conflicts(self) -> list[Conflict]:
        return list(self.session.scalars(select(Conflict).where(
            Conflict.person_id == self.person.id, Conflict.incoming_id.in_(self.ids),
            Conflict.status.in_(("open", "taken"))).order_by(Conflict.id)))

    def _filled(self) -> dict[str, str]:
        """Fields the group's records filled that the person still holds as filled (from the audit trail,
        which the matching writes for every fill, automatic or not)."""
        entries = self.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "person", AuditEntry.object_id == str(self.person.id),
            AuditEntry.action == _FILL, or_(*(AuditEntry.detail.like(f"%incoming record {i}") for i in self.ids)))
            .order_by(AuditEntry.id))
        filled: dict[str, str] = {}
        for entry in entries:
            filled.update(entry.after or {})
        return {f: v for f, v in filled.items() if same_value(f, person_value(self.person, f), v)}

    def _enrolment(self) -> Enrolment | None:
        if self.record.kind != "pupil":
            return None
        return self.session.scalar(select(Enrolment).where(
            Enrolment.person_id == self.person.id, Enrolment.base_id == self.record.base_id,
            Enrolment.source_file_id.in_({r.file_id for r in self.group})))

    def _pairs(self) -> set[tuple[int, int]]:
        """(child, carer) persons of the links the group's records made."""
        if self.record.kind == "pupil":
            carers = self.session.scalars(select(IncomingRecord.person_id).where(
                IncomingRecord.pupil_id.in_(self.ids), IncomingRecord.status == "matched"))
            return {(self.person.id, c) for c in carers if c is not None and c != self.person.id}
        parents = self.session.scalars(select(IncomingRecord.person_id).where(
            IncomingRecord.id.in_({r.pupil_id for r in self.group if r.pupil_id}), IncomingRecord.status == "matched"))
        return {(p, self.person.id) for p in parents if p is not None and p != self.person.id}

    def _still_made(self, child: int, carer: int) -> bool:
        """Another matched pupil and contact (outside the group) make this link too."""
        pupil, contact = IncomingRecord.__table__.alias("pupil"), IncomingRecord.__table__.alias("contact")
        return bool(self.session.scalar(select(exists().where(
            contact.c.pupil_id == pupil.c.id, contact.c.status == "matched", contact.c.person_id == carer,
            pupil.c.status == "matched", pupil.c.person_id == child,
            pupil.c.id.not_in(self.ids), contact.c.id.not_in(self.ids)))))

    def _carer_links(self) -> list[CarerLink]:
        links = [self.session.get(CarerLink, pair) for pair in sorted(self._pairs()) if not self._still_made(*pair)]
        return [link for link in links if link is not None]

    def _kept_because(self) -> str:
        """Why the person created from the group must be kept ("" when it can be removed)."""
        pid, session = self.person.id, self.session
        removed = {(link.child_id, link.carer_id) for link in self.carer_links}
        links = session.execute(select(CarerLink.child_id, CarerLink.carer_id).where(
            or_(CarerLink.child_id == pid, CarerLink.carer_id == pid))).all()
        if any(tuple(pair) not in removed for pair in links):
            return "it is a carer or child in a carer link that stays"
        refers = (
            ("another incoming record is matched to it", select(IncomingRecord.id).where(
                IncomingRecord.person_id == pid, IncomingRecord.id.not_in(self.ids))),
            ("another SIMS GUID is linked to it", select(PersonIdentifier.person_id).where(
                PersonIdentifier.person_id == pid, or_(PersonIdentifier.base_id != self.record.base_id,
                                                       PersonIdentifier.sims_guid != self.record.sims_guid))),
            ("it has an enrolment another file wrote", select(Enrolment.id).where(
                Enrolment.person_id == pid, Enrolment.id != (self.enrolment.id if self.enrolment else -1))),
            ("another record's conflict names it", select(Conflict.id).where(
                Conflict.person_id == pid, Conflict.incoming_id.not_in(self.ids))),
            ("it is a candidate of another record", select(MatchCandidate.person_id).where(
                MatchCandidate.person_id == pid, MatchCandidate.incoming_id.not_in(self.ids))),
            ("it has attainment results", select(AttainmentResult.id).where(AttainmentResult.person_id == pid)))
        return next((why for why, query in refers if session.scalar(query.limit(1)) is not None), "")

    def plan(self) -> dict[str, Any]:
        """Everything ``apply`` will change, for the confirmation page and the callers."""
        return {
            "incoming_id": self.record.id, "kind": self.record.kind, "status": self.record.status,
            "decision": self.record.decision, "person_id": self.person.id if self.person else None,
            "records": self.ids, "reopened_id": self.reopened.id, "guid_link": self.link.sims_guid if self.link else "",
            "conflicts": [{"id": c.id, "field": c.field, "status": c.status, "la_value": c.la_value,
                           "incoming_value": c.incoming_value} for c in self.conflicts],
            "filled": dict(self.filled),
            "enrolment": {"ncy": self.enrolment.ncy, "enrol_status": self.enrolment.enrol_status}
            if self.enrolment else None,
            "carer_links": [{"child_id": link.child_id, "carer_id": link.carer_id, "relationship": link.relationship}
                            for link in self.carer_links],
            "person_created": self.created, "person_removed": self.created and not self.kept_because,
            "person_kept_because": self.kept_because if self.created else "",
        }

    def apply(self, name: str) -> dict[str, Any]:
        """Reverse everything in the plan (inside the caller's transaction); returns the plan."""
        plan = self.plan()
        now = utcnow()
        if self.person is not None:
            self._reverse_person(name, now)
        self._reopen(name, now)
        if plan["person_removed"]:
            self._remove_person(name)
        audit(self.session, name, "review.reopen", "incoming", self.record.id,
              {"status": plan["status"], "decision": plan["decision"], "person_id": plan["person_id"]},
              {"status": OPEN, "reopened_id": self.reopened.id, "records": self.ids},
              detail=f"undone: {len(plan['conflicts'])} conflicts, {len(plan['filled'])} filled fields, "
                     f"{len(plan['carer_links'])} carer links, GUID link {'removed' if self.link else 'none'}")
        self.session.flush()
        return plan

    def _reverse_person(self, name: str, now: datetime) -> None:
        person, session = self.person, self.session
        if self.link is not None:
            session.delete(self.link)
        for conflict in self.conflicts:
            if conflict.status == "taken" and same_value(conflict.field, person_value(person, conflict.field),
                                                         conflict.incoming_value):
                self._put(name, {conflict.field: conflict.la_value}, f"conflict {conflict.id} undone")
            audit(session, name, "conflict.undo", "conflict", conflict.id, {"status": conflict.status},
                  {"status": "undone"}, detail=f"the match of incoming record {self.record.id} was undone")
            conflict.status, conflict.resolved_at, conflict.resolved_by = "undone", now, name
        if self.filled:
            self._put(name, {f: "" for f in self.filled}, f"filled by incoming record {self.record.id}, now undone")
        session.execute(delete(CacheEntry).where(CacheEntry.person_id == person.id,
                                                 CacheEntry.file_id.in_({r.file_id for r in self.group})))
        if self.enrolment is not None:
            session.delete(self.enrolment)
        for link in self.carer_links:
            audit(session, name, "carer.unlink", "person", link.child_id, {"carer_id": link.carer_id}, None,
                  detail=f"link made by incoming record {self.record.id}, now undone")
            session.delete(link)
        person.updated_at = now  # every worker's population index picks the restored values up

    def _put(self, name: str, values: dict[str, str], why: str) -> None:
        person = self.person
        before = {f: person_value(person, f) for f in values}
        for field, value in values.items():
            setattr(person, field, (date.fromisoformat(value) if value else None) if field == "dob" else value)
        audit(self.session, name, "person.update", "person", person.id, before, values, detail=why)

    def _reopen(self, name: str, now: datetime) -> None:
        for record in self.group:
            if record.kind == "pupil" and record.status == "matched":
                count_decided(self.session, record.file_id, matched=-1)
            if record is self.reopened:
                has = self._keep_as_candidate(record)
                record.status, record.person_id, record.has_candidates = OPEN, None, has
                record.decision, record.decided_at, record.decided_by = ("possible" if has else "none"), None, ""
                record.reason = f"reopened by {name}"
                if record.kind == "pupil":
                    count_decided(self.session, record.file_id, unmatched=1)
            else:
                record.status, record.person_id, record.decided_at, record.decided_by = SUPERSEDED, None, now, name
                record.reason = f"superseded: incoming record {self.reopened.id} was reopened"

    def _keep_as_candidate(self, reopened: IncomingRecord) -> bool:
        """Whether the reopened record has candidates; the matching's own choice stays as one.

        The matching stores no candidates for a record it matched, so the person of an automatic
        match is kept as candidate 1, with its score and explanation, for the reviewer to weigh.
        """
        if self.session.scalar(select(exists().where(MatchCandidate.incoming_id == reopened.id))):
            return True
        automatic = next((r for r in self.group if r.decision in ("auto", "upn") and r.explanation), None)
        if automatic is None:
            return False
        self.session.add(MatchCandidate(incoming_id=reopened.id, rank=1, person_id=self.person.id,
                                        score=automatic.score or 0.0,
                                        weight=automatic.explanation.get("match_weight", 0.0),
                                        explanation=automatic.explanation))
        return True

    def _remove_person(self, name: str) -> None:
        person, session = self.person, self.session
        before = {f: person_value(person, f) for f in ("forename", "surname", "dob")}
        for model in (MatchCandidate, Conflict, CacheEntry):
            session.execute(delete(model).where(model.person_id == person.id))
        session.delete(person)
        session.flush()
        # the erasure action is what tells every worker's population index to drop a person
        audit(session, name, PERSON_ERASED, "person", person.id, before, None,
              detail=f"created from incoming record {self.record.id}; removed when that decision was undone")


def undo_plan(session: Session, actor: Actor, incoming_id: int) -> dict[str, Any]:
    """What reopening this record would change (nothing is changed)."""
    allow(session, actor, UNMATCHED, "review.undo_plan", "incoming", incoming_id)
    return Undo(session, incoming_by_id(session, incoming_id)).plan()


def reopen_incoming(session: Session, actor: Actor, incoming_id: int) -> dict[str, Any]:
    """Undo the decision on a matched (automatically or by hand), created or rejected record.

    Returns the plan that was carried out; ``reopened_id`` is the record now waiting.
    """
    name = check(session, actor, UNMATCHED, write=True)
    return Undo(session, incoming_by_id(session, incoming_id, lock=True)).apply(name)
