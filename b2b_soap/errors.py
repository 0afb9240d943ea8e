"""The one exception root: every error that reaches a door (SOAP, CLI, web) is a ``B2BError`` whose
class carries the B2BFault code.

``service/faults.py`` is the only place that turns them into SOAP faults; the CLI prints
the message on one line and exits non-zero.
"""
from __future__ import annotations

__all__ = ["B2BError", "AuthenticationFailed", "AccountLocked", "NotLicensed", "BaseNotEnabled",
           "PermissionDenied", "ValidationFailed", "PayloadTooLarge", "ChecksumMismatch", "DuplicateFile",
           "NotFound", "ServerBusy", "InternalError", "FAULT_CODES"]


class B2BError(Exception):
    """Base of every error that stops a request; ``code`` is the B2BFault code."""

    code = "InternalError"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class AuthenticationFailed(B2BError):
    code = "AuthenticationFailed"


class AccountLocked(B2BError):
    code = "AccountLocked"


class NotLicensed(B2BError):
    code = "NotLicensed"


class BaseNotEnabled(B2BError):
    code = "BaseNotEnabled"


class PermissionDenied(B2BError):
    code = "PermissionDenied"


class ValidationFailed(B2BError):
    code = "ValidationFailed"


class PayloadTooLarge(B2BError):
    code = "PayloadTooLarge"


class ChecksumMismatch(B2BError):
    code = "ChecksumMismatch"


class DuplicateFile(B2BError):
    code = "DuplicateFile"


class NotFound(B2BError):
    code = "NotFound"


class ServerBusy(B2BError):
    code = "ServerBusy"


class InternalError(B2BError):
    code = "InternalError"


FAULT_CODES = tuple(cls.code for cls in B2BError.__subclasses__())
