"""Requests refused before spyne: an HTTP status with a SOAP fault or a short text."""
from __future__ import annotations

from typing import Any, Iterable

from .faults import fault_envelope

__all__ = ["Refusal", "fault", "plain"]


class Refusal(Exception):
    """A request refused before spyne: an HTTP status with a SOAP fault or a short text."""

    def __init__(self, status: str, body: bytes, content_type: str = "text/xml; charset=utf-8",
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status)
        self.status, self.body, self.content_type, self.headers = status, body, content_type, list(headers)


def fault(code: str, message: str, **kwargs: Any) -> Refusal:
    return Refusal("500 Internal Server Error", fault_envelope(code, message, **kwargs))


def plain(status: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> Refusal:
    return Refusal(status, (message + "\n").encode(), "text/plain; charset=utf-8", headers)
