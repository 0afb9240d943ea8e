"""XSD validation of whole transfer files, and checks of their header.

A file that is not acceptable (malformed, DTD, wrong root, schema-invalid) is not
an exception here: it is a :class:`ValidationResult` with ``ok=False`` and its
errors, so the caller can store the file as ``Rejected`` (DESIGN "Faults or
findings"). No Python object is made per pupil: lxml releases the GIL while it
parses and validates, Python work per pupil would hold it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from lxml import etree

from ..resources import package_path
from .errors import TransferXmlError
from .models import TransferHeader, TransferKind
from .parse import NAMESPACES, ROOTS, header_from_element
from .xml import refuse_dtd, safe_parser, to_transfer_error

__all__ = ["SCHEMA_DIR", "FileError", "ValidationResult", "load_schema", "validate_transfer",
           "check_header", "MAX_ERRORS"]

SCHEMA_DIR = package_path("schemas")
SCHEMA_FILES: dict[str, str] = {
    "Student": "B2BStudentTransfer.xsd",
    "Attainment": "B2BAttainmentTransfer.xsd",
}
MAX_ERRORS = 100
_NAMESPACE = re.compile(r"\{http://schemas\.b2b-soap\.org/transfer/[a-z]+/\d{4}/\d{2}\}")
_ELEMENT = re.compile(r"Element '([^']+)'(?:, attribute '([^']+)')?: (.*)", re.S)
_ATOMIC_TYPE = re.compile(r"atomic type '([^']+)'")
_QUOTED = re.compile(r"'[^']*'")
_RANGE = "is outside the allowed range"
_RULES = {  # libxml2 quotes the rejected value in these; the file's content is pupil data
    "SCHEMAV_CVC_PATTERN_VALID": "does not match the {name} pattern",
    "SCHEMAV_CVC_ENUMERATION_VALID": "is not one of the allowed values",
    "SCHEMAV_CVC_LENGTH_VALID": "does not have the required length",
    "SCHEMAV_CVC_MINLENGTH_VALID": "is shorter than allowed",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "is longer than allowed",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": _RANGE, "SCHEMAV_CVC_MAXINCLUSIVE_VALID": _RANGE,
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": _RANGE, "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": _RANGE,
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "has too many digits",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "has too many decimal places",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "is not a valid {type}",
}


@dataclass(frozen=True, slots=True)
class FileError:
    """One problem with a transfer file, as GetFileStatus reports it."""

    line: int
    column: int
    message: str


@dataclass(slots=True)
class ValidationResult:
    ok: bool
    errors: list[FileError] = field(default_factory=list)
    header: TransferHeader | None = None


# One compiled schema per thread: an XMLSchema keeps its error log on the
# object, so two threads validating with the same one would mix their errors.
_schemas = threading.local()


def load_schema(kind: TransferKind) -> etree.XMLSchema:
    """The compiled XSD for ``kind`` ("Student" or "Attainment"), cached per thread."""
    cache = _schemas.__dict__.setdefault("by_kind", {})
    schema = cache.get(kind)
    if schema is None:
        if kind not in SCHEMA_FILES:
            raise ValueError(f"unknown transfer kind {kind!r}")
        document = etree.parse(str(SCHEMA_DIR / SCHEMA_FILES[kind]), safe_parser())
        schema = cache[kind] = etree.XMLSchema(document)
    return schema


def _file_error(line: int, column: int, message: str) -> FileError:
    return FileError(line, column, _NAMESPACE.sub("", message).strip())


def _schema_error(entry: etree._LogEntry) -> FileError:
    """An XSD error naming the element and the rule it breaks, never the rejected value (pupil data)."""
    message = _NAMESPACE.sub("", entry.message).strip()
    found = _ELEMENT.match(message)
    if found is None:
        return FileError(entry.line, entry.column, _QUOTED.sub("(value)", message))
    element, attribute, detail = found.groups()
    where = f"{element} attribute {attribute}" if attribute else element
    rule = _RULES.get(entry.type_name)
    if rule is not None:
        kind = _ATOMIC_TYPE.search(detail)
        text = f"{where} {rule.format(name=attribute or element, type=kind.group(1) if kind else 'value')}"
    else:
        text = f"{where}: {_QUOTED.sub('(value)', detail)}"
    return FileError(entry.line, entry.column, text)


def _rejected(errors: list[FileError]) -> ValidationResult:
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS] + [FileError(0, 0, f"{more} more errors not listed")]
    return ValidationResult(ok=False, errors=errors)


def _from_exception(exc: TransferXmlError) -> ValidationResult:
    return _rejected([_file_error(exc.line, exc.column, exc.message)])


def _header(tree: etree._ElementTree, kind: TransferKind) -> ValidationResult:
    try:
        header = header_from_element(tree.getroot().find(f"{{{NAMESPACES[kind]}}}Header"), kind)
    except TransferXmlError as exc:
        return _from_exception(exc)
    return ValidationResult(ok=True, header=header)


def _all_schema_errors(data: bytes, kind: TransferKind) -> ValidationResult:
    """Slow path, for invalid files only: list every error with its place."""
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
        refuse_dtd(tree)
    except etree.XMLSyntaxError as exc:
        return _from_exception(to_transfer_error(exc))
    except TransferXmlError as exc:
        return _from_exception(exc)
    schema = load_schema(kind)
    if schema.validate(tree):  # valid without the schema in the parser: cannot happen
        return _header(tree, kind)
    return _rejected([_schema_error(e) for e in schema.error_log])


def validate_transfer(data: bytes, kind: TransferKind) -> ValidationResult:
    """Validate a whole (decompressed) transfer file against its XSD.

    Args:
        data: the file bytes.
        kind: "Student" or "Attainment".

    Returns:
        ``ok=True`` with the header, or ``ok=False`` with up to ``MAX_ERRORS``
        errors (line, column, message). Never raises for bad content.
    """
    schema = load_schema(kind)
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser(schema)))
    except etree.XMLSyntaxError:
        return _all_schema_errors(data, kind)
    try:
        refuse_dtd(tree)
    except TransferXmlError as exc:
        return _from_exception(exc)
    if tree.getroot().tag != ROOTS[kind]:  # the XSD declares one root; be explicit anyway
        return _rejected([FileError(1, 1, f"not a {kind} transfer file")])
    return _header(tree, kind)


def check_header(header: TransferHeader, base_laestab: str, la_number: str, *,
                 task_id: int | None = None, file_guid: str | None = None) -> list[FileError]:
    """Check a valid file's header against who sent it and how.

    Args:
        base_laestab: LAESTAB of the caller's base.
        la_number: this LA's 3-digit number.
        task_id: the upload's TaskId (None when it gave none: then a TaskId in the file differs).
        file_guid: the upload's FileGuid.

    Returns:
        Errors that make the file ``Rejected``; empty when the header agrees.
    """
    line = header.line
    errors = []
    if header.source_laestab != base_laestab:
        errors.append(FileError(line, 0, f"SourceLAESTAB {header.source_laestab} is not the "
                                         f"sending base {base_laestab}"))
    if header.destination_la != la_number:
        errors.append(FileError(line, 0, f"DestinationLA {header.destination_la} is not "
                                         f"this LA ({la_number})"))
    if header.task_id is not None and header.task_id != task_id:
        errors.append(FileError(line, 0, f"TaskId {header.task_id} differs from the upload's "
                                         f"TaskId {'(none)' if task_id is None else task_id}"))
    if (file_guid is not None and header.file_guid is not None
            and header.file_guid.lower() != file_guid.lower()):
        errors.append(FileError(line, 0, "FileGuid differs from the upload's FileGuid"))
    return errors
