"""Streaming readers of validated transfer files.

Files are read with ``iterparse`` and each pupil element is cleared once read,
so memory stays flat in the file size. Per-pupil work is one pass over the
children with a table lookup per element; the XSD has already checked order and
types, so the readers only convert text.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from lxml import etree

from .errors import TransferXmlError
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
    TransferKind,
)
from .xml import DTD_MESSAGE, to_transfer_error

__all__ = ["parse_header", "parse_pupils", "parse_attainment", "header_from_element", "transfer_kind", "ROOTS"]

Source = bytes | IO[bytes]
_Reader = Callable[[etree._Element], Any] | int

NAMESPACES: dict[TransferKind, str] = {"Student": STUDENT_NS, "Attainment": ATTAINMENT_NS}
ROOTS: dict[TransferKind, str] = {
    "Student": f"{{{STUDENT_NS}}}B2BStudentTransfer",
    "Attainment": f"{{{ATTAINMENT_NS}}}B2BAttainmentTransfer",
}


# Readers of simple values. The two commonest are markers handled inline in
# _read (a function call per field is a large share of the parse time):
# _RAW for pattern-restricted strings (GUIDs, UPNs, codes), which cannot carry
# extra whitespace; _TOKEN for xs:token values, which XSD validates after
# collapsing whitespace, so " Smith " is valid and must be read as "Smith".
_RAW = 0
_TOKEN = 1


def _stripped(elem: etree._Element) -> str:
    return (elem.text or "").strip()


def _date(elem: etree._Element) -> dt.date:
    return dt.date.fromisoformat(_stripped(elem))


def _datetime(elem: etree._Element) -> dt.datetime:
    value = dt.datetime.fromisoformat(_stripped(elem))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _bool(elem: etree._Element) -> bool:
    return _stripped(elem) in ("true", "1")


def _int(elem: etree._Element) -> int:
    return int(_stripped(elem))


def _table(ns: str, fields: dict[str, tuple[str, _Reader]]) -> dict[str, tuple[str, _Reader]]:
    return {f"{{{ns}}}{name}": spec for name, spec in fields.items()}


def _read(elem: etree._Element, table: dict[str, tuple[str, _Reader]]) -> dict[str, Any]:
    values = {}
    for child in elem:
        spec = table.get(child.tag)
        if spec is not None:
            name, reader = spec
            if reader is _RAW:
                values[name] = child.text
            elif reader is _TOKEN:
                text = child.text
                values[name] = " ".join(text.split()) if text else None
            else:
                values[name] = reader(child)
        elif isinstance(child.tag, str):  # not a comment or processing instruction
            raise TransferXmlError(child.sourceline or 0, 0, f"unexpected element {child.tag}")
    return values


_ADDRESS = _table(STUDENT_NS, {
    "SAON": ("saon", _TOKEN), "PAON": ("paon", _TOKEN), "Street": ("street", _TOKEN),
    "Locality": ("locality", _TOKEN), "Town": ("town", _TOKEN),
    "AdministrativeArea": ("administrative_area", _TOKEN), "PostTown": ("post_town", _TOKEN),
    "Postcode": ("postcode", _RAW), "UPRN": ("uprn", _RAW),
})
_PHONE = _table(STUDENT_NS, {"Type": ("type", _RAW), "Number": ("number", _RAW)})


def _address(elem: etree._Element) -> Bs7666Address:
    return _build(Bs7666Address, _read(elem, _ADDRESS), elem)


def _phones(elem: etree._Element) -> list[Phone]:
    return [_build(Phone, _read(phone, _PHONE), phone) for phone in elem]


def _flatten_address(values: dict[str, Any]) -> None:
    detail = values.get("address_detail")
    if detail is not None:
        values["address"] = detail.line
        values["town"] = detail.town or detail.post_town
        values["postcode"] = detail.postcode
        values["uprn"] = detail.uprn


_CONTACT = _table(STUDENT_NS, {
    "SimsGuid": ("sims_guid", _RAW), "Title": ("title", _TOKEN), "Forename": ("forename", _TOKEN),
    "Surname": ("surname", _TOKEN), "Gender": ("gender", _RAW),
    "Relationship": ("relationship", _RAW),
    "ParentalResponsibility": ("parental_responsibility", _bool),
    "Priority": ("priority", _int), "Address": ("address_detail", _address),
    "Phones": ("phones", _phones), "Email": ("email", _RAW),
})


def _contact(elem: etree._Element) -> IncomingContact:
    values = _read(elem, _CONTACT)
    _flatten_address(values)
    return _build(IncomingContact, values, elem)


def _contacts(elem: etree._Element) -> list[IncomingContact]:
    return [_contact(contact) for contact in elem]


_PUPIL = _table(STUDENT_NS, {
    "SimsGuid": ("sims_guid", _RAW), "UPN": ("upn", _RAW), "FormerUPN": ("former_upn", _RAW),
    "Surname": ("surname", _TOKEN), "Forename": ("forename", _TOKEN),
    "MiddleNames": ("middle_names", _TOKEN), "PreferredSurname": ("preferred_surname", _TOKEN),
    "PreferredForename": ("preferred_forename", _TOKEN), "DOB": ("dob", _date),
    "Gender": ("gender", _RAW), "NCYearActual": ("ncy", _RAW),
    "EnrolStatus": ("enrol_status", _RAW), "EntryDate": ("entry_date", _date),
    "LeavingDate": ("leaving_date", _date), "Address": ("address_detail", _address),
    "Phones": ("phones", _phones), "Email": ("email", _RAW), "Ethnicity": ("ethnicity", _RAW),
    "FirstLanguage": ("first_language", _RAW), "SENProvision": ("sen_provision", _RAW),
    "FSMEligible": ("fsm_eligible", _bool), "Contacts": ("contacts", _contacts),
})


def _pupil(elem: etree._Element) -> IncomingPupil:
    values = _read(elem, _PUPIL)
    _flatten_address(values)
    values["line"] = elem.sourceline or 0
    return _build(IncomingPupil, values, elem)


_RESULT = _table(ATTAINMENT_NS, {
    "AspectCode": ("aspect_code", _RAW), "Value": ("value", _TOKEN),
    "CollectionDate": ("collection_date", _date),
})


def _results(elem: etree._Element) -> list[AttainmentResult]:
    return [_build(AttainmentResult, _read(result, _RESULT), result) for result in elem]


_ATTAINMENT_PUPIL = _table(ATTAINMENT_NS, {
    "SimsGuid": ("sims_guid", _RAW), "UPN": ("upn", _RAW), "Forename": ("forename", _TOKEN),
    "Surname": ("surname", _TOKEN), "DOB": ("dob", _date), "NCYearActual": ("ncy", _RAW),
    "Results": ("results", _results),
})


def _attainment_pupil(elem: etree._Element) -> AttainmentPupil:
    values = _read(elem, _ATTAINMENT_PUPIL)
    values["line"] = elem.sourceline or 0
    return _build(AttainmentPupil, values, elem)


def _build(cls: type, values: dict[str, Any], elem: etree._Element) -> Any:
    try:
        return cls(**values)
    except TypeError:
        raise TransferXmlError(elem.sourceline or 0, 0, f"incomplete {etree.QName(elem).localname}") from None


_HEADER_FIELDS: dict[str, tuple[str, _Reader]] = {
    "SourceLAESTAB": ("source_laestab", _RAW), "DestinationLA": ("destination_la", _RAW),
    "CreatedUtc": ("created_utc", _datetime), "Software": ("software", _TOKEN),
    "SoftwareVersion": ("software_version", _TOKEN), "TaskId": ("task_id", _int),
    "FileGuid": ("file_guid", _RAW), "AspectHierarchy": ("aspect_hierarchy", _TOKEN),
}
_HEADERS = {kind: _table(ns, _HEADER_FIELDS) for kind, ns in NAMESPACES.items()}


def header_from_element(elem: etree._Element, kind: TransferKind) -> TransferHeader:
    """Read a ``Header`` element (already schema-valid) into a :class:`TransferHeader`."""
    try:
        values = _read(elem, _HEADERS[kind])
    except ValueError as exc:
        raise TransferXmlError(elem.sourceline or 0, 0, f"bad header value: {exc}") from None
    values["line"] = elem.sourceline or 0
    return _build(TransferHeader, {"kind": kind, **values}, elem)


def _iter_ends(source: Source, kind: TransferKind, tag: str) -> Iterator[etree._Element]:
    """Yield each ``tag`` element of a ``kind`` file once it is complete, then free it."""
    root_tag = ROOTS[kind]
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    context = etree.iterparse(
        stream, events=("start", "end"), tag=(root_tag, tag),
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        for event, elem in context:
            if elem.tag == root_tag:
                if event == "start" and elem.getroottree().docinfo.internalDTD is not None:
                    raise TransferXmlError(1, 1, DTD_MESSAGE)
                continue
            if event == "end":
                yield elem
                elem.clear()
                while elem.getprevious() is not None:
                    del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise to_transfer_error(exc) from None
    if context.root is None or context.root.tag != root_tag:
        raise TransferXmlError(1, 1, f"not a {kind} transfer file")


def _convert(elem: etree._Element, reader: Callable[[etree._Element], Any]) -> Any:
    try:
        return reader(elem)
    except ValueError as exc:
        raise TransferXmlError(elem.sourceline or 0, 0, f"bad value: {exc}") from None


def parse_header(source: Source, kind: TransferKind) -> TransferHeader:
    """Read only the header of a transfer file (stops reading after it).

    Raises:
        TransferXmlError: malformed XML, a DTD, or no header.
    """
    for elem in _iter_ends(source, kind, f"{{{NAMESPACES[kind]}}}Header"):
        return header_from_element(elem, kind)
    raise TransferXmlError(1, 1, "no Header element")


def transfer_kind(data: bytes) -> TransferKind | None:
    """The kind of transfer file ``data`` is, by its root element; None for neither (or not XML)."""
    context = etree.iterparse(io.BytesIO(data), events=("start",), resolve_entities=False, load_dtd=False,
                              no_network=True, huge_tree=False)
    try:
        _, root = next(context)
    except (etree.XMLSyntaxError, StopIteration):
        return None
    return next((kind for kind, tag in ROOTS.items() if tag == root.tag), None)


def parse_pupils(source: Source) -> Iterator[IncomingPupil]:
    """Yield each pupil of a Student transfer file, in file order.

    Args:
        source: the decompressed file as bytes or a binary file object (for example
            ``gzip.GzipFile``), already validated against the XSD.

    Raises:
        TransferXmlError: malformed XML, a DTD, or a value that cannot be read.
    """
    for elem in _iter_ends(source, "Student", f"{{{STUDENT_NS}}}Pupil"):
        yield _convert(elem, _pupil)


def parse_attainment(source: Source) -> Iterator[AttainmentPupil]:
    """Yield each pupil of an Attainment transfer file with its results."""
    for elem in _iter_ends(source, "Attainment", f"{{{ATTAINMENT_NS}}}Pupil"):
        yield _convert(elem, _attainment_pupil)
