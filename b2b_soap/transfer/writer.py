"""Write transfer files: for examples, tests, benchmarks and the demo.

``make_example_pupils`` makes plausible, deterministic pupils with contacts from
a small embedded name list; it depends on no other b2b_soap package.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable
from typing import Any

from lxml import etree

from .models import (
    ATTAINMENT_NS,
    STUDENT_NS,
    AttainmentPupil,
    AttainmentResult,
    Bs7666Address,
    IncomingContact,
    IncomingPupil,
    Phone,
    TransferHeader,
)

__all__ = [
    "write_student_file",
    "write_attainment_file",
    "example_header",
    "make_example_pupils",
    "make_example_attainment",
]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _Builder:
    """Appends namespaced child elements, skipping absent (None) values."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def element(self, parent: etree._Element | None, name: str) -> etree._Element:
        tag = f"{{{self.ns}}}{name}"
        if parent is None:
            return etree.Element(tag, nsmap={None: self.ns})
        return etree.SubElement(parent, tag)

    def values(self, parent: etree._Element, pairs: Iterable[tuple[str, Any]]) -> None:
        for name, value in pairs:
            if value is not None:
                self.element(parent, name).text = _format(value)


def _header(b: _Builder, root: etree._Element, header: TransferHeader, names: tuple[str, ...]) -> None:
    fields = {
        "SourceLAESTAB": header.source_laestab, "DestinationLA": header.destination_la,
        "CreatedUtc": header.created_utc, "TaskId": header.task_id,
        "AspectHierarchy": header.aspect_hierarchy, "Software": header.software,
        "SoftwareVersion": header.software_version, "FileGuid": header.file_guid,
    }
    b.values(b.element(root, "Header"), ((name, fields[name]) for name in names))


def _address(b: _Builder, parent: etree._Element, person: IncomingPupil | IncomingContact) -> None:
    detail = person.address_detail
    if detail is None and person.address is None:
        return
    if detail is None:
        # Only the flattened form is known: keep it whole in PAON.
        detail = Bs7666Address(paon=person.address, town=person.town,
                               postcode=person.postcode, uprn=person.uprn)
    b.values(b.element(parent, "Address"), (
        ("SAON", detail.saon), ("PAON", detail.paon), ("Street", detail.street),
        ("Locality", detail.locality), ("Town", detail.town),
        ("AdministrativeArea", detail.administrative_area), ("PostTown", detail.post_town),
        ("Postcode", detail.postcode), ("UPRN", detail.uprn),
    ))


def _phones(b: _Builder, parent: etree._Element, phones: list[Phone]) -> None:
    if phones:
        element = b.element(parent, "Phones")
        for phone in phones:
            b.values(b.element(element, "Phone"), (("Type", phone.type), ("Number", phone.number)))


def _contact(b: _Builder, parent: etree._Element, contact: IncomingContact) -> None:
    element = b.element(parent, "Contact")
    b.values(element, (
        ("SimsGuid", contact.sims_guid), ("Title", contact.title), ("Forename", contact.forename),
        ("Surname", contact.surname), ("Gender", contact.gender),
        ("Relationship", contact.relationship),
        ("ParentalResponsibility", contact.parental_responsibility), ("Priority", contact.priority),
    ))
    _address(b, element, contact)
    _phones(b, element, contact.phones)
    b.values(element, (("Email", contact.email),))


def _pupil(b: _Builder, parent: etree._Element, pupil: IncomingPupil) -> None:
    element = b.element(parent, "Pupil")
    b.values(element, (
        ("SimsGuid", pupil.sims_guid), ("UPN", pupil.upn), ("FormerUPN", pupil.former_upn),
        ("Surname", pupil.surname), ("Forename", pupil.forename),
        ("MiddleNames", pupil.middle_names), ("PreferredSurname", pupil.preferred_surname),
        ("PreferredForename", pupil.preferred_forename), ("DOB", pupil.dob),
        ("Gender", pupil.gender), ("NCYearActual", pupil.ncy),
        ("EnrolStatus", pupil.enrol_status), ("EntryDate", pupil.entry_date),
        ("LeavingDate", pupil.leaving_date),
    ))
    _address(b, element, pupil)
    _phones(b, element, pupil.phones)
    b.values(element, (
        ("Email", pupil.email), ("Ethnicity", pupil.ethnicity),
        ("FirstLanguage", pupil.first_language), ("SENProvision", pupil.sen_provision),
        ("FSMEligible", pupil.fsm_eligible),
    ))
    if pupil.contacts:
        contacts = b.element(element, "Contacts")
        for contact in pupil.contacts:
            _contact(b, contacts, contact)


def _serialise(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


_STUDENT_HEADER = ("SourceLAESTAB", "DestinationLA", "CreatedUtc", "Software",
                   "SoftwareVersion", "TaskId", "FileGuid")
_ATTAINMENT_HEADER = ("SourceLAESTAB", "DestinationLA", "CreatedUtc", "TaskId",
                      "AspectHierarchy", "Software", "SoftwareVersion", "FileGuid")


def write_student_file(header: TransferHeader, pupils: Iterable[IncomingPupil]) -> bytes:
    """Serialise a header and pupils to Student transfer file bytes (UTF-8).

    Valid against ``B2BStudentTransfer.xsd`` when the values are: required
    fields present, codes from the XSD's lists.
    """
    b = _Builder(STUDENT_NS)
    root = b.element(None, "B2BStudentTransfer")
    _header(b, root, header, _STUDENT_HEADER)
    element = b.element(root, "Pupils")
    for pupil in pupils:
        _pupil(b, element, pupil)
    return _serialise(root)


def write_attainment_file(header: TransferHeader, pupils: Iterable[AttainmentPupil]) -> bytes:
    """Serialise a header and pupils with results to Attainment transfer file bytes."""
    b = _Builder(ATTAINMENT_NS)
    root = b.element(None, "B2BAttainmentTransfer")
    _header(b, root, header, _ATTAINMENT_HEADER)
    element = b.element(root, "Pupils")
    for pupil in pupils:
        pupil_element = b.element(element, "Pupil")
        b.values(pupil_element, (
            ("SimsGuid", pupil.sims_guid), ("UPN", pupil.upn), ("Forename", pupil.forename),
            ("Surname", pupil.surname), ("DOB", pupil.dob), ("NCYearActual", pupil.ncy),
        ))
        results = b.element(pupil_element, "Results")
        for result in pupil.results:
            b.values(b.element(results, "Result"), (
                ("AspectCode", result.aspect_code), ("Value", result.value),
                ("CollectionDate", result.collection_date),
            ))
    return _serialise(root)


# --- example data ----------------------------------------------------------

_GIRLS = ("Olivia Amelia Isla Ava Mia Ivy Lily Isabella Sophia Grace Freya Willow Florence "
          "Emily Ella Poppy Evie Elsie Charlotte Evelyn Aisha Maryam Zara Amelie Hannah").split()
_BOYS = ("Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie "
         "Jack Charlie Theo Alfie Jacob Thomas Finley Arlo Lucas Isaac Mohammed Joshua Ethan").split()
_SURNAMES = ("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts "
             "Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris "
             "Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee "
             "King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price "
             "Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell "
             "Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh "
             "Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain "
             "Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
             "Barker Fisher Stevens Jenkins Murray Dixon Harvey Nowak Kowalski O'Brien Smith-Jones").split()
_STREETS = ("High Street, Station Road, Church Lane, Victoria Road, Green Lane, Manor Road, "
            "Park Avenue, Queens Road, Mill Lane, The Crescent, Kings Road, Grange Road, "
            "Springfield Road, Orchard Close, Windsor Road, Albert Street").split(", ")
_TOWNS = ("Exampleton", "Northbridge", "Sampleford", "Demoby", "Testbury", "Little Mocking")
_LOCALITIES = ("Westfield", "Oak Hill", "Riverside", "Upper Green")
_ETHNICITIES = ("WBRI",) * 6 + ("WIRI", "WOTH", "MWBC", "MWAS", "ABAN", "APKN", "AIND",
                                 "BAFR", "BCRB", "CHNE", "AOTH", "REFU")
_LANGUAGES = ("ENG",) * 8 + ("POL", "URD", "PNJ", "BNG", "ARA", "ROM")
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def _upn(la: str, estab: str, year: int, serial: int) -> str:
    """A UPN with a correct check letter (weights 2..13 over characters 2..13)."""
    body = f"{la}{estab}{year % 100:02d}{serial % 1000:03d}"
    total = sum(int(char) * weight for weight, char in enumerate(body, start=2))
    return _UPN_LETTERS[total % 23] + body


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _example_address(rng: random.Random) -> Bs7666Address:
    outward = f"{rng.choice('ABDEGHLMNPSTW')}{rng.choice('ABDEGHLMNPSTW')}{rng.randint(1, 29)}"
    return Bs7666Address(
        saon=f"Flat {rng.randint(1, 12)}" if rng.random() < 0.1 else None,
        paon=str(rng.randint(1, 240)),
        street=rng.choice(_STREETS),
        locality=rng.choice(_LOCALITIES) if rng.random() < 0.3 else None,
        town=rng.choice(_TOWNS),
        postcode=f"{outward} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                 f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
        uprn=str(rng.randint(10**8, 10**12 - 1)) if rng.random() < 0.8 else None,
    )


def _with_address(values: dict[str, Any], address: Bs7666Address | None) -> dict[str, Any]:
    if address is not None:
        values.update(address=address.line, town=address.town, postcode=address.postcode,
                      uprn=address.uprn, address_detail=address)
    return values


def _example_contacts(rng: random.Random, surname: str, address: Bs7666Address) -> list[IncomingContact]:
    contacts = []
    count = rng.choices((1, 2, 3), weights=(1, 2, 1))[0]
    for priority in range(1, count + 1):
        gender, relationship, title = rng.choice((
            ("F", "PAM", "Mrs"), ("M", "PAF", "Mr"), ("F", "PAM", "Ms"),
            ("F", "GRM", "Mrs"), ("M", "STP", "Mr"), ("F", "CAR", "Ms"),
        ))
        own_home = rng.random() < 0.15
        values = dict(
            sims_guid=_guid(rng), title=title,
            forename=rng.choice(_GIRLS if gender == "F" else _BOYS),
            surname=surname if rng.random() < 0.8 else rng.choice(_SURNAMES),
            gender=gender, relationship=relationship,
            parental_responsibility=relationship in ("PAM", "PAF", "STP"), priority=priority,
            phones=[Phone("M", f"07700 900{rng.randint(0, 999):03d}")],
            email=f"contact{rng.randint(1, 10**6)}@example.org" if rng.random() < 0.7 else None,
        )
        contacts.append(IncomingContact(**_with_address(values, _example_address(rng) if own_home else address)))
    return contacts


def _example_pupil(rng: random.Random, la: str, estab: str, academic_year: int) -> IncomingPupil:
    year = rng.randint(0, 11)  # R..11
    gender = rng.choice("MF")
    born_from = dt.date(academic_year - 5 - year, 9, 1)
    dob = born_from + dt.timedelta(days=rng.randint(0, 364))
    entry_year = academic_year - year if year < 7 else academic_year - (year - 7)
    surname = rng.choice(_SURNAMES)
    address = _example_address(rng)
    values = dict(
        sims_guid=_guid(rng),
        upn=_upn(la, estab, entry_year, rng.randint(0, 999)),
        surname=surname,
        forename=rng.choice(_GIRLS if gender == "F" else _BOYS),
        middle_names=rng.choice(_GIRLS if gender == "F" else _BOYS) if rng.random() < 0.4 else None,
        preferred_forename=None,
        dob=dob, gender=gender, ncy="R" if year == 0 else str(year),
        enrol_status=rng.choices("CMS", weights=(97, 2, 1))[0],
        entry_date=dt.date(entry_year, 9, rng.choice((1, 2, 3, 4, 5))),
        phones=[Phone("H", f"01632 960{rng.randint(0, 999):03d}")] if rng.random() < 0.5 else [],
        ethnicity=rng.choice(_ETHNICITIES),
        first_language=rng.choice(_LANGUAGES),
        sen_provision=rng.choices("NKE", weights=(84, 13, 3))[0],
        fsm_eligible=rng.random() < 0.22,
        contacts=_example_contacts(rng, surname, address),
    )
    return IncomingPupil(**_with_address(values, address))


def make_example_pupils(n: int, seed: int = 0, *, la: str = "999", estab: str = "4000",
                        academic_year: int = 2025) -> list[IncomingPupil]:
    """Make ``n`` plausible pupils (R..Y11) with 1-3 contacts each, 2 on average.

    Deterministic for a seed. UPNs have correct check letters; phone numbers are
    from Ofcom's drama ranges and e-mails use example.org.

    Args:
        academic_year: the year the current academic year starts (September).
    """
    rng = random.Random(seed)
    return [_example_pupil(rng, la, estab, academic_year) for _ in range(n)]


def example_header(kind: str = "Student", *, source_laestab: str = "9994000",
                   destination_la: str = "999", task_id: int | None = None,
                   aspect_hierarchy: str | None = None,
                   created_utc: dt.datetime = dt.datetime(2026, 1, 15, 18, 30, tzinfo=dt.timezone.utc),
                   file_guid: str | None = None) -> TransferHeader:
    """A header for example files; attainment headers get a task and hierarchy."""
    if kind == "Attainment":
        task_id = 1 if task_id is None else task_id
        aspect_hierarchy = aspect_hierarchy or "KS2 Teacher Assessment"
    return TransferHeader(kind=kind, source_laestab=source_laestab, destination_la=destination_la,
                          created_utc=created_utc, software="b2b-soap example writer",
                          software_version="1.0", task_id=task_id, file_guid=file_guid,
                          aspect_hierarchy=aspect_hierarchy)


def make_example_attainment(pupils: Iterable[IncomingPupil], seed: int = 0,
                            collection_date: dt.date = dt.date(2026, 1, 10)) -> list[AttainmentPupil]:
    """Attainment pupils for given example pupils: a few teacher-assessment results each."""
    rng = random.Random(seed)
    aspects = ("KS2_ENG_READ", "KS2_ENG_WRIT", "KS2_MAT", "KS2_SCI")
    grades = ("WTS", "EXS", "GDS", "HNM")
    return [
        AttainmentPupil(
            sims_guid=p.sims_guid, upn=p.upn, forename=p.forename, surname=p.surname,
            dob=p.dob, ncy=p.ncy,
            results=[AttainmentResult(a, rng.choice(grades), collection_date) for a in aspects],
        )
        for p in pupils
    ]
