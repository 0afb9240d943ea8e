"""Unmatched incoming records: list, show, match by hand, create a new person, reject.

An LA user decides what the matching could not; no person is ever created without one.
Pupils older than ``B2B_S_AGE`` (age in completed years on the day of listing) are left
out of the list: with the default 18, an 18-year-old is listed and a 19-year-old is not.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import Base, Finding, IncomingRecord, MatchCandidate, Person, utcnow
from ..defaults import load_defaults
from ..errors import NotFound, ValidationFailed
from ..matching import MatchSettings, is_valid_upn
from ..processing.after_match import AfterMatch, MatchedRecord
from ..processing.model import load_model
from ..processing.population import age_on
from ..processing.review_queue import OPEN, REJECTED, SUPERSEDED, count_decided
from ..security import UNMATCHED, audit
from ._access import Actor, allow, base_by_laestab, check, incoming_by_id, jsonable, page_bounds
from ._listing import name_starts, typed_day, unmatched_order, unmatched_search
from .undo import Undo
from .wording import auto_line, field_reasons, why_waiting

__all__ = ["list_unmatched", "get_incoming", "search_persons", "match_incoming", "rematch_incoming",
           "create_person_from_incoming", "reject_incoming", "years_before"]

_PERSON_SUMMARY = ("upn", "forename", "middle_names", "surname", "dob", "gender", "address", "town", "postcode")


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _item(record: IncomingRecord, laestab: str, today: date) -> dict[str, Any]:
    return {"id": record.id, "file_id": record.file_id, "base": laestab, "kind": record.kind,
            "upn": record.upn, "forename": record.forename, "surname": record.surname, "dob": record.dob,
            "age": age_on(record.dob, today) if record.dob else None, "gender": record.gender,
            "ncy": record.ncy, "postcode": record.postcode, "decision": record.decision, "reason": record.reason,
            "has_candidates": record.has_candidates, "received_at": record.received_at}


def _kind_filter(session: Session, settings: Settings, kind: str, today: date) -> list:
    """Pupils (B2B_S_AGE applies), contacts, or both."""
    if kind not in ("pupil", "contact", "both"):
        raise ValidationFailed("kind must be pupil, contact or both")
    oldest = years_before(today, load_defaults(session, settings).b2b_s_age + 1)
    young = or_(IncomingRecord.dob.is_(None), IncomingRecord.dob > oldest)
    if kind == "pupil":
        return [IncomingRecord.kind == "pupil", young]
    if kind == "contact":
        return [IncomingRecord.kind == "contact"]
    return [or_(IncomingRecord.kind == "contact", young)]


def list_unmatched(session: Session, actor: Actor, settings: Settings, *, base: str | None = None,
                   ncy: str | None = None, min_age: int | None = None, max_age: int | None = None,
                   received_from: datetime | None = None, received_to: datetime | None = None,
                   has_candidates: bool | None = None, kind: str = "pupil", today: date | None = None,
                   search: str = "", sort: str = "received", page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """Unmatched incoming records, newest first unless ``sort`` says otherwise, one page at a time.

    Args:
        base: LAESTAB of the sending base.
        search: a name (starts of forename or surname), a UPN, or a date of birth like 13/01/2016.
        sort: one of ``UNMATCHED_SORTS`` (received, oldest, name, age, base).
        min_age, max_age: age in completed years on ``today`` (default: the day of listing).
        received_from, received_to: when the file arrived (UTC).
        kind: "pupil" (default), "contact" or "both".

    Returns:
        ``{"total", "page", "page_size", "items"}``.
    """
    allow(session, actor, UNMATCHED, "review.list_unmatched", "incoming", "", detail=f"base={base or ''}")
    today = today or date.today()
    offset, limit = page_bounds(page, page_size)
    where = [IncomingRecord.status == "unmatched", *_kind_filter(session, settings, kind, today)]
    if base:
        where.append(IncomingRecord.base_id == base_by_laestab(session, base).id)
    if ncy:
        where.append(IncomingRecord.ncy == ncy)
    if max_age is not None:
        where.append(IncomingRecord.dob > years_before(today, max_age + 1))
    if min_age is not None:
        where.append(IncomingRecord.dob <= years_before(today, min_age))
    if received_from:
        where.append(IncomingRecord.received_at >= received_from)
    if received_to:
        where.append(IncomingRecord.received_at < received_to)
    if has_candidates is not None:
        where.append(IncomingRecord.has_candidates.is_(has_candidates))
    where.extend(unmatched_search(search, session.get_bind().dialect.name))
    total = session.scalar(select(func.count(IncomingRecord.id)).where(*where))
    # the page's ids are read from the index of the order alone, then only those rows are loaded
    ids = session.scalars(select(IncomingRecord.id).where(*where).order_by(*unmatched_order(sort))
                          .offset(offset).limit(limit)).all()
    rows = session.execute(select(IncomingRecord, Base.laestab).join(Base, Base.id == IncomingRecord.base_id)
                           .where(IncomingRecord.id.in_(ids))).all() if ids else []
    found = {record.id: (record, laestab) for record, laestab in rows}
    return {"total": total, "page": page, "page_size": page_size,
            "items": [_item(*found[i], today) for i in ids]}


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def _summary(person: Person) -> dict[str, Any]:
    return {"person_id": person.id, **{f: getattr(person, f) for f in _PERSON_SUMMARY}}


def _detail(session: Session, record: IncomingRecord, match: MatchSettings) -> dict[str, Any]:
    fields = ("id", "file_id", "seq", "kind", "pupil_id", "sims_guid", "upn", "forename", "middle_names",
              "surname", "preferred_surname", "dob", "gender", "ncy", "address", "town", "postcode", "status",
              "decision", "person_id", "score", "has_candidates", "reason", "explanation", "received_at",
              "decided_at", "decided_by")
    detail = {f: getattr(record, f) for f in fields}
    detail["why"] = record.reason if record.status == REJECTED else why_waiting(record.reason, match)
    detail["data"] = record.data or {}
    candidates = session.execute(select(MatchCandidate, Person).join(Person, Person.id == MatchCandidate.person_id)
                                 .where(MatchCandidate.incoming_id == record.id)
                                 .order_by(MatchCandidate.rank).limit(5)).all()
    detail["candidates"] = [{"rank": c.rank, "score": c.score, "weight": c.weight, "explanation": c.explanation,
                             **_summary(p)} for c, p in candidates]
    for candidate, line in zip(detail["candidates"], auto_line(detail["candidates"], match)):
        candidate.update(reasons=field_reasons(detail, candidate), auto_line=line)
    detail["findings"] = [{"code": f.code, "field": f.field, "message": f.message}
                          for f in session.scalars(select(Finding).where(Finding.incoming_id == record.id))]
    return detail


def get_incoming(session: Session, actor: Actor, incoming_id: int) -> dict[str, Any]:
    """One incoming record with its ranked candidates (at most 5), findings and contacts."""
    allow(session, actor, UNMATCHED, "review.get_incoming", "incoming", incoming_id)
    record = incoming_by_id(session, incoming_id)
    match = load_model(session).settings
    detail = _detail(session, record, match)
    contacts = session.scalars(select(IncomingRecord).where(IncomingRecord.pupil_id == record.id)
                               .order_by(IncomingRecord.seq)).all()
    detail["contacts"] = [_detail(session, c, match) for c in contacts]
    return detail


def search_persons(session: Session, actor: Actor, settings: Settings, incoming_id: int, asked: dict[str, str], *,
                   limit: int = 25, today: date | None = None) -> list[dict[str, Any]]:
    """People who could be this record's person: by UPN, date of birth, name and postcode starts (all
    combined, each optional); for a contact only people aged CARER_MIN or over."""
    allow(session, actor, UNMATCHED, "review.search_persons", "incoming", incoming_id)
    record = incoming_by_id(session, incoming_id)
    query = select(Person)
    if asked.get("upn"):
        query = query.where(Person.upn == asked["upn"].upper())
    if asked.get("dob"):
        day = typed_day(asked["dob"])
        if day is None:
            raise ValidationFailed("Date of birth must be a date like 13/01/2016")
        query = query.where(Person.dob == day)
    for column, name in ((Person.surname, "surname"), (Person.forename, "forename")):
        word = asked.get(name, "").lower().replace("%", "").replace("_", "")
        if word:
            query = query.where(name_starts(column, word, session.get_bind().dialect.name))
    if asked.get("postcode"):
        query = query.where(Person.postcode == asked["postcode"].upper())
    if record.kind == "contact":
        query = query.where(or_(Person.dob.is_(None),
                                Person.dob <= _carers_born_by(session, settings, today or date.today())[1]))
    found = session.scalars(query.order_by(Person.surname, Person.forename, Person.id).limit(limit))
    return [_summary(p) for p in found]


def _trusted(session: Session, record: IncomingRecord) -> dict[str, str]:
    bad = set(session.scalars(select(Finding.field).where(Finding.incoming_id == record.id)))
    data = record.data or {}
    values = {f: getattr(record, f) for f in ("upn", "forename", "middle_names", "surname", "preferred_surname",
                                              "gender", "address", "town", "postcode")}
    values.update(dob=jsonable(record.dob), uprn=data.get("uprn"), phone=data.get("phone"), email=data.get("email"))
    if values["upn"] and not is_valid_upn(values["upn"]):
        bad.add("upn")
    return {k: str(v) for k, v in values.items() if v not in (None, "") and k not in bad}


def _as_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _matched(session: Session, record: IncomingRecord, person_id: int) -> list[MatchedRecord]:
    """The record and the carer links it completes, for the after-match step."""
    data = record.data or {}
    main = MatchedRecord(record.id, person_id, record.kind, record.sims_guid, _trusted(session, record))
    if record.kind == "pupil":
        main.enrolment = {"ncy": record.ncy, "enrol_status": data.get("enrol_status") or "",
                          "entry_date": _as_date(data.get("entry_date")),
                          "leaving_date": _as_date(data.get("leaving_date"))}
        contacts = session.scalars(select(IncomingRecord).where(IncomingRecord.pupil_id == record.id,
                                                                IncomingRecord.status == "matched"))
        links = [MatchedRecord(c.id, c.person_id, "contact", "", {}, child_id=person_id, carer=_carer(c))
                 for c in contacts]
        return [main, *links]
    parent = session.get(IncomingRecord, record.pupil_id) if record.pupil_id else None
    if parent is not None and parent.status == "matched":
        main.child_id, main.carer = parent.person_id, _carer(record)
    return [main]


def _carer(record: IncomingRecord) -> dict[str, Any]:
    data = record.data or {}
    return {"relationship": (data.get("relationship") or "")[:40],
            "parental_responsibility": bool(data.get("parental_responsibility")), "priority": data.get("priority") or 1}


def _copies(session: Session, record: IncomingRecord) -> list[IncomingRecord]:
    """The record's other open items (one base, kind and SIMS GUID), and the ones its own file superseded."""
    if not record.sims_guid:
        return []
    return list(session.scalars(select(IncomingRecord).where(
        IncomingRecord.base_id == record.base_id, IncomingRecord.kind == record.kind,
        IncomingRecord.sims_guid == record.sims_guid, IncomingRecord.id != record.id,
        or_(IncomingRecord.status == OPEN,
            and_(IncomingRecord.status == SUPERSEDED, IncomingRecord.file_id == record.file_id)))))


def _settle(session: Session, name: str, record: IncomingRecord, reason: str) -> list[IncomingRecord]:
    """A decision settles every copy the same way (audited); returns the copies."""
    copies = _copies(session, record)
    for copy in copies:
        before = {"status": copy.status, "decision": copy.decision, "person_id": copy.person_id}
        if copy.status == OPEN and copy.kind == "pupil":
            count_decided(session, copy.file_id, matched=int(record.status == "matched"), unmatched=-1)
        copy.status, copy.decision, copy.person_id = record.status, record.decision, record.person_id
        copy.decided_at, copy.decided_by, copy.reason = record.decided_at, name, reason
        audit(session, name, "review.settle", "incoming", copy.id, before,
              {"status": copy.status, "decision": copy.decision, "person_id": copy.person_id},
              detail=f"settled by the decision on incoming record {record.id}")
    return copies


def _decide(session: Session, name: str, settings: Settings, record: IncomingRecord, person_id: int,
            decision: str) -> dict[str, Any]:
    before = {"status": record.status, "decision": record.decision, "person_id": record.person_id}
    counted = record.status == OPEN
    record.status, record.decision, record.person_id = "matched", decision, person_id
    record.decided_at, record.decided_by = utcnow(), name
    copies = _settle(session, name, record, f"matched with incoming record {record.id}")
    session.flush()
    defaults = load_defaults(session, settings)
    # a copy brings only its links (carer of each child, GUID): its values are the decided record's or older
    links = [replace(m, trusted={}, enrolment=None) for c in copies for m in _matched(session, c, person_id)]
    conflicts = AfterMatch(session, record.base_id, record.file_id, name, defaults.b2bhcache).apply(
        [*_matched(session, record, person_id), *links])
    if counted and record.kind == "pupil":
        count_decided(session, record.file_id, matched=1, unmatched=-1)
    audit(session, name, f"review.{decision}", "incoming", record.id, before,
          {"status": "matched", "decision": decision, "person_id": person_id})
    return {"incoming_id": record.id, "person_id": person_id, "decision": decision, "conflicts": conflicts}


def _carers_born_by(session: Session, settings: Settings, today: date) -> tuple[int, date]:
    """CARER_MIN, and the latest date of birth of a person old enough to be a carer on ``today``."""
    carer_min = load_defaults(session, settings).carer_min
    return carer_min, years_before(today, carer_min)


def _refuse_young_carer(session: Session, settings: Settings, record: IncomingRecord, person: Person,
                        today: date) -> None:
    """A contact is matched by hand, as by the matching, only to a person aged CARER_MIN or over."""
    if record.kind != "contact" or person.dob is None:
        return
    carer_min, born_by = _carers_born_by(session, settings, today)
    if person.dob > born_by:
        raise ValidationFailed(f"person {person.id} is {age_on(person.dob, today)}: a contact can only be matched "
                               f"to a person aged {carer_min} (CARER_MIN) or over")


def match_incoming(session: Session, actor: Actor, incoming_id: int, person_id: int, *,
                   settings: Settings, today: date | None = None) -> dict[str, Any]:
    """Match a record to a person by hand; then as after any match.

    A record already matched or rejected is re-matched (see ``rematch_incoming``); a superseded copy
    is matched and settles its open copy.
    """
    name = check(session, actor, UNMATCHED, write=True)
    record = incoming_by_id(session, incoming_id, lock=True)
    _refuse_young_carer(session, settings, record, _person(session, person_id), today or date.today())
    if record.status == "matched" and record.person_id == person_id:
        raise ValidationFailed(f"incoming record {incoming_id} is already matched to person {person_id}")
    if record.status in ("matched", REJECTED):
        record = incoming_by_id(session, Undo(session, record).apply(name)["reopened_id"])
    return _decide(session, name, settings, record, person_id, "manual")


def rematch_incoming(session: Session, actor: Actor, incoming_id: int, person_id: int, *,
                     settings: Settings, today: date | None = None) -> dict[str, Any]:
    """Correct a matched, created or rejected record: undo what its decision caused, then match it
    (the newest record of its SIMS GUID, see ``undo``) to ``person_id``, all in one transaction."""
    check(session, actor, UNMATCHED, write=True)
    record = incoming_by_id(session, incoming_id)
    if record.status == OPEN:
        raise ValidationFailed(f"incoming record {incoming_id} is still unmatched: match it instead")
    return match_incoming(session, actor, incoming_id, person_id, settings=settings, today=today)


def create_person_from_incoming(session: Session, actor: Actor, incoming_id: int, *,
                                settings: Settings) -> dict[str, Any]:
    """Create a new person from an unmatched record's values and match the record to it."""
    name = check(session, actor, UNMATCHED, write=True)
    record = incoming_by_id(session, incoming_id)
    if record.status != OPEN:
        raise ValidationFailed(f"incoming record {incoming_id} is {record.status}, not unmatched")
    values = _trusted(session, record)
    now = utcnow()
    person = Person(**{k: (date.fromisoformat(v) if k == "dob" else v) for k, v in values.items()},
                    created_at=now, updated_at=now)
    session.add(person)
    session.flush()
    audit(session, name, "person.create", "person", person.id, None,
          {k: v for k, v in values.items()}, detail=f"from incoming record {record.id}")
    return _decide(session, name, settings, record, person.id, "new")


def reject_incoming(session: Session, actor: Actor, incoming_id: int, reason: str = "") -> dict[str, Any]:
    """Reject an unmatched record: it leaves the list and changes nothing in the population."""
    name = check(session, actor, UNMATCHED, write=True)
    record = incoming_by_id(session, incoming_id)
    if record.status != OPEN:
        raise ValidationFailed(f"incoming record {incoming_id} is {record.status}, not unmatched")
    record.status, record.decided_at, record.decided_by = "rejected", utcnow(), name
    record.reason = reason[:2000] or f"rejected by {name}"
    if record.kind == "pupil":
        count_decided(session, record.file_id, unmatched=-1)
    _settle(session, name, record, record.reason)
    audit(session, name, "review.reject", "incoming", record.id, {"status": "unmatched"},
          {"status": "rejected"}, detail=reason)
    return {"incoming_id": record.id, "status": "rejected"}
