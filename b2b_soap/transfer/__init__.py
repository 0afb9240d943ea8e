"""Transfer files: capped decompression, XSD validation, streaming parsing,
writing, and encryption at rest. Pure functions over bytes; no database here (the virtual
file store that keeps them is ``b2b_soap.files``)."""

from .compression import decode_part, gunzip_capped
from .crypto import KeyRing, create_key_file
from .errors import (
    CorruptCompressionError,
    DecryptionError,
    KeyFileError,
    PayloadTooLargeError,
    TransferError,
    TransferXmlError,
    UnknownCompressionError,
)
from .models import (
    AttainmentPupil,
    AttainmentResult,
    Bs7666Address,
    IncomingContact,
    IncomingPupil,
    Phone,
    TransferHeader,
)
from .parse import parse_attainment, parse_header, parse_pupils, transfer_kind
from .validate import FileError, ValidationResult, check_header, load_schema, validate_transfer

__all__ = [
    "AttainmentPupil", "AttainmentResult", "Bs7666Address", "CorruptCompressionError",
    "DecryptionError", "FileError", "IncomingContact", "IncomingPupil", "KeyFileError",
    "KeyRing", "PayloadTooLargeError", "Phone", "TransferError", "TransferHeader",
    "TransferXmlError", "UnknownCompressionError", "ValidationResult", "check_header",
    "create_key_file", "decode_part", "gunzip_capped", "load_schema", "parse_attainment",
    "parse_header", "parse_pupils", "transfer_kind", "validate_transfer",
]
