"""Plain data read from, or written to, transfer files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

__all__ = [
    "TransferKind",
    "STUDENT_NS",
    "ATTAINMENT_NS",
    "TransferHeader",
    "Bs7666Address",
    "Phone",
    "IncomingContact",
    "IncomingPupil",
    "AttainmentResult",
    "AttainmentPupil",
]

TransferKind = Literal["Student", "Attainment"]

STUDENT_NS = "http://schemas.b2b-soap.org/transfer/student/2026/01"
ATTAINMENT_NS = "http://schemas.b2b-soap.org/transfer/attainment/2026/01"


@dataclass(slots=True)
class TransferHeader:
    """The ``Header`` of a transfer file. ``line`` is where it starts in the file."""

    kind: TransferKind
    source_laestab: str
    destination_la: str
    created_utc: dt.datetime
    software: str
    software_version: str | None = None
    task_id: int | None = None
    file_guid: str | None = None
    aspect_hierarchy: str | None = None
    line: int = 0


class Bs7666Address(NamedTuple):
    saon: str | None = None
    paon: str | None = None
    street: str | None = None
    locality: str | None = None
    town: str | None = None
    administrative_area: str | None = None
    post_town: str | None = None
    postcode: str | None = None
    uprn: str | None = None

    @property
    def line(self) -> str:
        """SAON PAON Street Locality on one line, as matching compares it."""
        return " ".join(p for p in (self.saon, self.paon, self.street, self.locality) if p)


class Phone(NamedTuple):
    type: str
    number: str


@dataclass(slots=True)
class IncomingContact:
    """A contact (carer) of an incoming pupil.

    ``address``, ``town``, ``postcode`` and ``uprn`` are the flattened form of
    ``address_detail`` (the BS7666 address as sent).
    """

    sims_guid: str
    forename: str
    surname: str
    relationship: str
    parental_responsibility: bool
    priority: int
    title: str | None = None
    gender: str | None = None
    address: str | None = None
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    address_detail: Bs7666Address | None = None
    phones: list[Phone] = field(default_factory=list)
    email: str | None = None


@dataclass(slots=True)
class IncomingPupil:
    """One pupil of a Student transfer file. ``line`` is where its element starts."""

    sims_guid: str
    upn: str
    surname: str
    forename: str
    dob: dt.date
    ncy: str
    enrol_status: str
    entry_date: dt.date
    former_upn: str | None = None
    middle_names: str | None = None
    preferred_surname: str | None = None
    preferred_forename: str | None = None
    gender: str | None = None
    leaving_date: dt.date | None = None
    address: str | None = None
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    address_detail: Bs7666Address | None = None
    phones: list[Phone] = field(default_factory=list)
    email: str | None = None
    ethnicity: str | None = None
    first_language: str | None = None
    sen_provision: str | None = None
    fsm_eligible: bool | None = None
    contacts: list[IncomingContact] = field(default_factory=list)
    line: int = 0


class AttainmentResult(NamedTuple):
    aspect_code: str
    value: str
    collection_date: dt.date


@dataclass(slots=True)
class AttainmentPupil:
    """One pupil of an Attainment transfer file with its results."""

    sims_guid: str
    upn: str
    forename: str
    surname: str
    dob: dt.date
    ncy: str
    results: list[AttainmentResult] = field(default_factory=list)
    line: int = 0
