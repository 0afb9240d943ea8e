"""Matched with Conflicts: list, resolve per field (take incoming / keep LA), bulk, edit a person."""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import persons
from ..db import Base, Conflict, Person, utcnow
from ..errors import NotFound, ValidationFailed
from ..processing.after_match import person_value
from ..security import CONFLICTS, audit
from ._access import Actor, allow, base_by_laestab, check, page_bounds

__all__ = ["list_conflicts", "resolve_conflict", "resolve_conflicts", "resolve_filtered_conflicts", "update_person",
           "ACTIONS"]

ACTIONS = {"take": "taken", "keep": "kept"}
_BATCH = 1000  # conflicts loaded, resolved and flushed at a time by a whole-filter action


def _item(conflict: Conflict, person: Person, laestab: str) -> dict[str, Any]:
    return {"id": conflict.id, "person_id": person.id, "forename": person.forename, "surname": person.surname,
            "dob": person.dob, "field": conflict.field, "la_value": person_value(person, conflict.field),
            "incoming_value": conflict.incoming_value, "base": laestab, "file_id": conflict.file_id,
            "incoming_id": conflict.incoming_id, "status": conflict.status, "created_at": conflict.created_at,
            "resolved_at": conflict.resolved_at, "resolved_by": conflict.resolved_by}


def list_conflicts(session: Session, actor: Actor, *, base: str | None = None, person_id: int | None = None,
                   field: str | None = None, status: str = "open", page: int = 1,
                   page_size: int = 50) -> dict[str, Any]:
    """Conflicts (open by default), newest first: ``{"total", "page", "page_size", "items"}``."""
    allow(session, actor, CONFLICTS, "review.list_conflicts", "conflict", "", detail=f"base={base or ''}")
    offset, limit = page_bounds(page, page_size)
    where = _where(session, base, person_id, field, status)
    # the count needs no join, and the page query follows the (status, created_at, id) index
    total = session.scalar(select(func.count(Conflict.id)).where(*where))
    rows = session.execute(select(Conflict, Person, Base.laestab).join(Person, Person.id == Conflict.person_id)
                           .join(Base, Base.id == Conflict.base_id).where(*where)
                           .order_by(Conflict.created_at.desc(), Conflict.id.desc()).offset(offset).limit(limit))
    return {"total": total, "page": page, "page_size": page_size, "items": [_item(*row) for row in rows]}


def _where(session: Session, base: str | None, person_id: int | None, field: str | None, status: str) -> list:
    where = []
    if status:
        where.append(Conflict.status == status)
    if base:
        where.append(Conflict.base_id == base_by_laestab(session, base).id)
    if person_id is not None:
        where.append(Conflict.person_id == person_id)
    if field:
        where.append(Conflict.field == field)
    return where


def _resolve(session: Session, name: str, conflict_id: int, action: str) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValidationFailed(f"action must be one of {', '.join(ACTIONS)}")
    conflict = session.get(Conflict, conflict_id)
    if conflict is None:
        raise NotFound(f"no conflict {conflict_id}")
    if conflict.status != "open":
        raise ValidationFailed(f"conflict {conflict_id} is already {conflict.status}")
    person = session.get(Person, conflict.person_id)
    now = utcnow()
    if action == "take":
        before = getattr(person, conflict.field)
        value = conflict.incoming_value
        setattr(person, conflict.field, date.fromisoformat(value) if conflict.field == "dob" else value)
        person.updated_at = now
        audit(session, name, "person.update", "person", person.id,
              {conflict.field: before.isoformat() if isinstance(before, date) else before},
              {conflict.field: value}, detail=f"conflict {conflict.id} resolved by taking the incoming value")
    conflict.status, conflict.resolved_at, conflict.resolved_by = ACTIONS[action], now, name
    audit(session, name, "conflict.resolve", "conflict", conflict.id, {"status": "open"},
          {"status": conflict.status, "field": conflict.field})
    return {"id": conflict.id, "person_id": conflict.person_id, "field": conflict.field, "status": conflict.status}


def resolve_conflict(session: Session, actor: Actor, conflict_id: int, action: str) -> dict[str, Any]:
    """Resolve one conflict: ``take`` writes the incoming value to the person, ``keep`` leaves the LA's."""
    return _resolve(session, check(session, actor, CONFLICTS, write=True), conflict_id, action)


def resolve_conflicts(session: Session, actor: Actor, conflict_ids: Sequence[int], action: str) -> list[dict]:
    """Resolve several conflicts the same way, all or none."""
    name = check(session, actor, CONFLICTS, write=True)
    return [result for start in range(0, len(conflict_ids), _BATCH)
            for result in _resolve_batch(session, name, conflict_ids[start:start + _BATCH], action)]


def _resolve_batch(session: Session, name: str, conflict_ids: Sequence[int], action: str) -> list[dict]:
    """Resolve one batch, its conflicts and persons loaded in two queries, then let go of them."""
    conflicts = session.scalars(select(Conflict).where(Conflict.id.in_(conflict_ids))).all()
    persons_by_id = session.scalars(select(Person).where(Person.id.in_({c.person_id for c in conflicts}))).all()
    results = [_resolve(session, name, conflict_id, action) for conflict_id in conflict_ids]
    session.flush()
    for row in (*conflicts, *persons_by_id):
        session.expunge(row)
    return results


def resolve_filtered_conflicts(session: Session, actor: Actor, action: str, expected: int, *, base: str | None = None,
                               person_id: int | None = None, field: str | None = None) -> int:
    """Resolve every open conflict a filter shows, all or none, in batches; returns how many.

    ``expected`` is the count the user confirmed: if the filter shows another number now (new
    files arrived, or someone else resolved some), nothing is resolved and the caller is told why.
    """
    name = check(session, actor, CONFLICTS, write=True)
    where = _where(session, base, person_id, field, "open")
    total = session.scalar(select(func.count(Conflict.id)).where(*where))
    if total != expected:
        raise ValidationFailed(f"the filter now shows {total} open conflicts, not the {expected} you confirmed: "
                               "nothing was resolved; look at the list again")
    done, last = 0, 0
    while ids := session.scalars(select(Conflict.id).where(*where, Conflict.id > last)
                                 .order_by(Conflict.id).limit(_BATCH)).all():
        done += len(_resolve_batch(session, name, ids, action))
        last = ids[-1]
    if done != expected:  # conflicts opened or resolved while this ran: the caller rolls back
        raise ValidationFailed(f"the filter changed to {done} open conflicts while they were being resolved: "
                               "nothing was resolved; look at the list again")
    audit(session, name, "conflict.resolve_filter", "conflict", "", after={"status": ACTIONS.get(action), "count": done},
          detail=f"base={base or ''} field={field or ''} person={person_id or ''}")
    return done


def update_person(session: Session, actor: Actor, person_id: int | str, changes: dict[str, str]) -> dict[str, Any]:
    """Edit a person's fields (CSV column names as keys); audited by the person module."""
    name = check(session, actor, CONFLICTS, write=True)
    return persons.update_person(session, name, person_id, changes)
