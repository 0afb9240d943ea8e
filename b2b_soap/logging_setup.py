"""Logging set-up: plain or JSON lines, a request id per request, and redaction.

The redaction filter rewrites every record before any handler formats it: passwords,
UsernameToken elements, Authorization headers and long base64 runs (file contents) are
replaced, so neither credentials nor pupil data reach a log. Spyne's loggers that dump
whole requests are silenced below CRITICAL.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["configure_logging", "request_id", "new_request_id", "redact", "RedactingFilter", "JsonFormatter",
           "QUIET_LOGGERS"]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("b2b_soap_request_id", default="-")

# Loggers that write request bodies (with UsernameTokens and pupil data) at DEBUG/ERROR.
QUIET_LOGGERS = ("spyne.protocol.soap.soap11.invalid", "spyne.application.client")

_HEX = re.compile(r"[0-9a-fA-F]+")  # checksums and ids stay readable
_REDACTIONS = (
    (re.compile(r"<((?:\w+:)?UsernameToken)\b.*?</\1\s*>", re.S | re.I), "<UsernameToken>[redacted]</UsernameToken>"),
    (re.compile(r"<((?:\w+:)?(?:Password|Nonce))\b[^>]*>.*?</\1\s*>", re.S | re.I), r"<\1>[redacted]</\1>"),
    (re.compile(r"(authorization\s*[:=]\s*)(?:basic|bearer)?\s*[^\s,;'\"]+", re.I), r"\1[redacted]"),
    (re.compile(r"((?:password|passwd|pwd|secret|token|api_?key)\w*\s*[\"']?\s*[:=]\s*[\"']?)[^\s,;'\"}&]+", re.I),
     r"\1[redacted]"),
    (re.compile(r"(?:[A-Za-z0-9+/]{4}){12,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"),
     lambda m: m.group(0) if _HEX.fullmatch(m.group(0)) else "[base64 redacted]"),
)


def redact(text: str) -> str:
    """``text`` with credentials and base64 payloads replaced."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id() -> str:
    """Start a request: a fresh id in the context, returned for response headers."""
    value = uuid.uuid4().hex[:16]
    request_id.set(value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and exception text) with :func:`redact`; adds ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: still log something, but never the raw args
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name,
            "request_id": getattr(record, "request_id", request_id.get()),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return redact(json.dumps(entry, ensure_ascii=False))


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(json: bool = False, level: str | int = "INFO", stream=None) -> logging.Handler:
    """Send the root logger to ``stream`` (stderr) as plain or JSON lines; returns the handler.

    Calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_b2b_soap", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._b2b_soap = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json else _PlainFormatter(_PLAIN))
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return handler
