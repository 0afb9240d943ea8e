"""The one place where errors become SOAP faults.

Inside spyne, :func:`to_fault` turns a :class:`~b2b_soap.errors.B2BError` into a spyne
fault whose ``<detail>`` holds the typed ``B2BFault`` element. Before spyne (the WSGI front
refuses hostile or unauthenticated requests), :func:`fault_envelope` writes the same fault
as a whole SOAP 1.1 envelope. Unexpected exceptions become ``InternalError`` with an
incident id that is also in the server log, never a stack trace.
"""
from __future__ import annotations

import logging
import uuid

from lxml import etree
from spyne import Fault

from ..errors import B2BError, InternalError, ValidationFailed
from .types import TNS, B2BFault

__all__ = ["to_fault", "typed_fault", "fault_envelope", "fault_detail", "incident", "SOAP_ENV", "CLIENT_CODES"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
log = logging.getLogger("b2b_soap.service")

# Faults the caller can fix; the rest are the server's ("retry later" or a bug).
SERVER_CODES = ("ServerBusy", "InternalError")
CLIENT_CODES = ("AuthenticationFailed", "AccountLocked", "NotLicensed", "BaseNotEnabled", "PermissionDenied",
                "ValidationFailed", "PayloadTooLarge", "ChecksumMismatch", "DuplicateFile", "NotFound")


def _soap_code(code: str) -> str:
    return "Server" if code in SERVER_CODES else "Client"


def fault_detail(code: str, message: str) -> etree._Element:
    """The ``B2BFault`` element: handed to spyne as the detail itself (never wrapped in ``detail``)."""
    element = etree.Element(f"{{{TNS}}}B2BFault", nsmap={None: TNS})
    etree.SubElement(element, f"{{{TNS}}}Code").text = code
    etree.SubElement(element, f"{{{TNS}}}Message").text = message
    return element


def incident(exc: BaseException, where: str = "") -> InternalError:
    """Log an unexpected exception under a new incident id; the error to answer with."""
    incident_id = uuid.uuid4().hex[:12]
    log.error("incident %s%s: %s", incident_id, f" in {where}" if where else "", type(exc).__name__,
              exc_info=(type(exc), exc, exc.__traceback__))
    return InternalError(f"unexpected server error; incident id {incident_id} is in the server log")


def to_fault(exc: BaseException, where: str = "") -> Fault:
    """A spyne fault for any exception (unexpected ones are logged as an incident)."""
    if isinstance(exc, Fault):
        return exc
    if not isinstance(exc, B2BError):
        exc = incident(exc, where)
    return B2BFault(faultcode=_soap_code(exc.code), faultstring=exc.message,
                    detail=fault_detail(exc.code, exc.message))


def typed_fault(error: Fault) -> Fault:
    """spyne's own faults (schema validation, bad base64, ...) as typed ``ValidationFailed``."""
    if isinstance(error, B2BFault):
        return error
    if isinstance(error, Fault) and str(error.faultcode).startswith("Client"):
        return to_fault(ValidationFailed(f"the request does not match the contract: {error.faultstring}"[:1000]))
    return to_fault(error if not isinstance(error, Fault) else RuntimeError(error.faultstring), "spyne")


def fault_envelope(code: str, message: str, *, soap_code: str | None = None, typed: bool = True) -> bytes:
    """A whole SOAP 1.1 fault envelope.

    Args:
        code: a B2BFault code (with ``typed``) or only used for the faultcode.
        soap_code: the SOAP faultcode local name (``Client``, ``Server``, ``MustUnderstand``,
            ``VersionMismatch``); by default taken from ``code``.
        typed: add the ``B2BFault`` detail (False for SOAP-level faults).
    """
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"s:{soap_code or _soap_code(code)}"
    etree.SubElement(fault, "faultstring").text = message
    if typed:
        etree.SubElement(fault, "detail").append(fault_detail(code, message))
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")
