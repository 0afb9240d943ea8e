"""Errors of the transfer package: one base, subclasses that carry data."""

__all__ = [
    "TransferError",
    "TransferXmlError",
    "PayloadTooLargeError",
    "CorruptCompressionError",
    "UnknownCompressionError",
    "KeyFileError",
    "DecryptionError",
]


class TransferError(Exception):
    """Base of every error raised by ``b2b_soap.transfer``."""


class TransferXmlError(TransferError):
    """A transfer file that is not acceptable XML (malformed, DTD, wrong document)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.message = message


class PayloadTooLargeError(TransferError):
    """Content larger than the allowed number of bytes."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"content is larger than {cap} bytes")
        self.cap = cap


class CorruptCompressionError(TransferError):
    """A gzip stream that is damaged, truncated or followed by other bytes."""


class UnknownCompressionError(TransferError):
    """A compression name other than ``None`` or ``Gzip``."""

    def __init__(self, compression: str) -> None:
        super().__init__(f"unknown compression {compression!r}")
        self.compression = compression


class KeyFileError(TransferError):
    """A key file that is missing, unreadable, badly formed or too open."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class DecryptionError(TransferError):
    """Encrypted content that cannot be decrypted: unknown key, wrong format or tampered."""
