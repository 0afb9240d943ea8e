"""Parsed pupils and contacts as incoming-record rows, with their data-quality findings.

Pure: no database. Each pupil and each of its contacts gets a ``seq`` (its position in
the file), so a second run over the same file produces the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Iterator

from ..matching import Record, validate_upn
from ..transfer import IncomingContact, IncomingPupil

__all__ = ["Parsed", "Finding", "parsed_records"]

# Extra pupil/contact values kept in IncomingRecord.data (the columns hold the rest).
_PUPIL_DATA = ("former_upn", "preferred_forename", "enrol_status", "leaving_date", "entry_date", "uprn",
               "email", "ethnicity", "first_language", "sen_provision", "fsm_eligible")
_CONTACT_DATA = ("title", "relationship", "parental_responsibility", "priority", "uprn", "email")
_LIMITS = {"sims_guid": 36, "upn": 13, "forename": 100, "middle_names": 200, "surname": 100,
           "preferred_surname": 100, "gender": 1, "ncy": 3, "address": 300, "town": 100, "postcode": 8}


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    message: str


@dataclass
class Parsed:
    """One incoming pupil or contact before it is written.

    Attributes:
        row: IncomingRecord column values (no ids).
        record: what the matching core compares (a bad UPN or a future DOB left out).
        trusted: field -> value offered to the LA's person after a match (bad values left out).
    """

    seq: int
    kind: str
    parent_seq: int | None
    row: dict[str, Any]
    record: Record
    trusted: dict[str, str]
    findings: list[Finding] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _clip(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v[:_LIMITS[k]] if k in _LIMITS and isinstance(v, str) else v) for k, v in values.items()}


def _first_phone(phones: list) -> str:
    return phones[0].number if phones else ""


def _trusted(row: dict[str, Any], data: dict[str, Any], phone: str, bad: set[str]) -> dict[str, str]:
    values = {name: row.get(name) for name in ("upn", "forename", "middle_names", "surname",
                                               "preferred_surname", "gender", "address", "town", "postcode")}
    values.update(dob=_jsonable(row.get("dob")), uprn=data.get("uprn"), email=data.get("email"), phone=phone)
    return {k: str(v) for k, v in values.items() if v not in (None, "") and k not in bad}


def _pupil(pupil: IncomingPupil, seq: int, today: date, seen: dict[str, set]) -> Parsed:
    findings = []
    bad: set[str] = set()
    upn = (pupil.upn or "").strip().upper()
    reason = validate_upn(upn) if upn else None
    if reason:
        findings.append(Finding("invalid_upn", "upn", f"UPN {upn!r} is not valid: {reason}"))
        bad.add("upn")
    if pupil.former_upn and validate_upn(pupil.former_upn.strip().upper()):
        findings.append(Finding("invalid_former_upn", "former_upn",
                                f"former UPN {pupil.former_upn!r} is not valid"))
    if pupil.dob and pupil.dob > today:
        findings.append(Finding("future_dob", "dob", f"date of birth {pupil.dob.isoformat()} is in the future"))
        bad.add("dob")
    if pupil.leaving_date and pupil.entry_date and pupil.leaving_date < pupil.entry_date:
        findings.append(Finding("leaving_before_entry", "leaving_date",
                                f"leaving date {pupil.leaving_date} is before entry date {pupil.entry_date}"))
    for key, value, what in (("upn", upn, "UPN"), ("guid", pupil.sims_guid, "SIMS GUID")):
        if value and value in seen[key]:
            findings.append(Finding(f"duplicate_{key}", key if key == "upn" else "sims_guid",
                                    f"{what} {value} appears more than once in this file"))
        seen[key].add(value)
    data = {name: _jsonable(getattr(pupil, name)) for name in _PUPIL_DATA}
    phone = _first_phone(pupil.phones)
    data["phone"] = phone
    row = _clip(dict(kind="pupil", sims_guid=pupil.sims_guid or "", upn=upn, forename=pupil.forename or "",
                     middle_names=pupil.middle_names or "", surname=pupil.surname or "",
                     preferred_surname=pupil.preferred_surname or "", dob=pupil.dob, gender=pupil.gender or "",
                     ncy=pupil.ncy or "", address=pupil.address or "", town=pupil.town or "",
                     postcode=pupil.postcode or "", data=data))
    record = Record(str(seq), "" if "upn" in bad else upn, row["forename"], row["middle_names"], row["surname"],
                    None if "dob" in bad else pupil.dob, row["gender"] or None, row["address"], row["town"],
                    row["postcode"])
    return Parsed(seq, "pupil", None, row, record, _trusted(row, data, phone, bad), findings)


def _contact(contact: IncomingContact, seq: int, parent: int) -> Parsed:
    data = {name: _jsonable(getattr(contact, name)) for name in _CONTACT_DATA}
    phone = _first_phone(contact.phones)
    data["phone"] = phone
    row = _clip(dict(kind="contact", sims_guid=contact.sims_guid or "", forename=contact.forename or "",
                     surname=contact.surname or "", gender=contact.gender or "", address=contact.address or "",
                     town=contact.town or "", postcode=contact.postcode or "", data=data))
    record = Record(str(seq), "", row["forename"], "", row["surname"], None, row["gender"] or None,
                    row["address"], row["town"], row["postcode"])
    return Parsed(seq, "contact", parent, row, record, _trusted(row, data, phone, set()))


def parsed_records(pupils: Iterable[IncomingPupil], today: date) -> Iterator[Parsed]:
    """Each pupil followed by its contacts, numbered in file order from 1."""
    seq = 0
    seen: dict[str, set] = {"upn": set(), "guid": set()}
    for pupil in pupils:
        seq += 1
        parent = seq
        yield _pupil(pupil, seq, today, seen)
        for contact in pupil.contacts:
            seq += 1
            yield _contact(contact, seq, parent)
