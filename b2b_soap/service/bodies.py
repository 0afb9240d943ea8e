"""Reading SOAP request bodies within limits: size, encoding, time, and bytes held by the process.

A body is read in the order the server needs it: first only its head, up to the operation
element (past the SOAP Header, where a UsernameToken is); the rest only once the caller is authenticated and
the process has room for it (:class:`ByteBudget`). A refused body is drained, never kept, so
the client still reads the answer. Each phase has a deadline: the head ``head_seconds``,
the rest as long again plus its size at ``min_bytes_per_second``. A client that misses one
is cut off (:class:`SlowClient`): a slow sender holds a thread for seconds, not minutes.
"""
from __future__ import annotations

import codecs
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from cheroot.errors import MaxSizeExceeded
from lxml import etree
from werkzeug.http import parse_options_header

from ..config import ServerSettings
from .faults import SOAP_ENV
from .refusals import Refusal, fault, plain

__all__ = ["RequestBody", "ByteBudget", "SlowClient", "SAFE_XML", "check_encoding", "check_content_type",
           "drained"]

CHUNK = 64 * 1024
HEAD_BYTES = 64 * 1024  # a SOAP Header with a UsernameToken is a few hundred bytes
SAFE_XML = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False,
            "remove_comments": True, "remove_pis": True}
_UTF8 = ("utf-8", "utf8", "us-ascii", "ascii")
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")  # UTF-16/32, with or without a BOM
_DECLARED = re.compile(rb'\s*<\?xml[^>]*?encoding\s*=\s*["\']([A-Za-z0-9._:-]{1,40})["\']')
_SEND_UTF8 = "send SOAP requests in UTF-8 (Content-Type: text/xml; charset=utf-8)"
_HEADER, _BODY, _ENVELOPE = (f"{{{SOAP_ENV}}}{name}" for name in ("Header", "Body", "Envelope"))


class SlowClient(TimeoutError):
    """A client missed a deadline: the HTTP server answers 408 and closes the connection, as it
    does when a socket read times out."""

    def __init__(self) -> None:
        super().__init__("timed out")  # the text cheroot recognises as a read timeout


def too_large(limit: int) -> Refusal:
    return plain("413 Payload Too Large", f"the request is larger than {limit} bytes; "
                                          "send large files in parts (see GetServerInfo)")


def read_client(read: Callable[[int], bytes], size: int, limit: int) -> bytes:
    """Up to ``size`` bytes of a request body. cheroot refuses a chunked body over its limit with a
    plain IOError and a malformed chunk with ValueError: each becomes the answer it deserves."""
    try:
        return read(size)
    except ValueError:
        raise plain("400 Bad Request", "the chunked request body is malformed") from None
    except (OSError, MaxSizeExceeded) as exc:
        if "too large" not in str(exc).lower():
            raise  # a timeout or a dropped connection: the HTTP server handles it
        raise too_large(limit) from None


def check_content_type(environ: dict) -> None:
    """SOAP 1.1 as text/xml in UTF-8, or a Refusal that says what to send instead."""
    content_type, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
    content_type = content_type.lower()
    if content_type == "application/soap+xml":
        raise plain("415 Unsupported Media Type",
                    "SOAP 1.2 (application/soap+xml) is not supported: send SOAP 1.1 as text/xml")
    if content_type not in ("text/xml", "application/xml"):
        raise plain("415 Unsupported Media Type", f"content type {content_type[:60] or '(none)'} is not "
                                                  "supported: send SOAP 1.1 as text/xml")
    charset = options.get("charset", "").strip().lower()
    if charset and charset not in _UTF8:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise fault("ValidationFailed", f"unknown charset {charset[:40]!r}: {_SEND_UTF8}") from None
        raise fault("ValidationFailed", f"charset {charset[:40]} is not supported: {_SEND_UTF8}")


def check_encoding(start: bytes) -> None:
    """Refuse a document that is not UTF-8 (a UTF-16 start, or another declared encoding)."""
    if start.startswith(_WIDE_STARTS):
        raise fault("ValidationFailed", f"the request is UTF-16 or UTF-32 encoded: {_SEND_UTF8}")
    declared = _DECLARED.match(start.removeprefix(_UTF8_BOM)[:256])
    if declared and declared.group(1).decode("ascii").lower() not in _UTF8:
        raise fault("ValidationFailed", f"the request declares encoding {declared.group(1).decode('ascii')}: "
                                        f"{_SEND_UTF8}")


class ByteBudget:
    """Request bodies one process holds at once, in bytes; a caller waits a little, then is refused."""

    def __init__(self, total: int) -> None:
        self.total = self.free = total
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, amount: int, wait_seconds: float) -> Iterator[None]:
        amount = min(amount, self.total)
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            while self.free < amount:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise fault("ServerBusy", "the server is receiving too much at once; retry in a minute")
                self._changed.wait(left)
            self.free -= amount
        try:
            yield
        finally:
            with self._changed:
                self.free += amount
                self._changed.notify_all()


def _arrived_reader(stream) -> Callable[[int], bytes]:
    """A ``read(size)`` that returns what has arrived instead of waiting for ``size`` bytes.

    cheroot's body of known length reads whole chunks from a buffered socket file, so a client
    sending a byte at a time would never let a deadline be checked; its file reads what is there.
    That file (pure-Python ``_pyio``) hands out at most its 8 KiB buffer per read: once its
    buffer is empty, this reads from the socket itself, as much as has arrived up to ``size``
    (never past the body, so the next request on the connection stays in the file).
    """
    buffered, remaining = getattr(stream, "rfile", None), getattr(stream, "remaining", None)
    if not hasattr(buffered, "read1") or not isinstance(remaining, int):
        return stream.read
    socket_file = getattr(buffered, "raw", None)
    emptied = False

    def read(size: int) -> bytes:
        nonlocal emptied
        wanted = min(size, stream.remaining)
        if wanted <= 0:
            return b""
        data = socket_file.read(wanted) if emptied else buffered.read1(wanted)
        # read1 returns less than asked only once it has handed out all it had buffered
        emptied = emptied or (socket_file is not None and len(data) < wanted)
        stream.remaining -= len(data)
        return data
    return read


@dataclass
class RequestBody:
    """One request's body, read as far as needed, within the server's limits."""

    environ: dict
    settings: ServerSettings
    head: bytes = b""
    operation: str | None = None

    def __post_init__(self) -> None:
        try:
            self.length = int(self.environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            raise plain("400 Bad Request", "Content-Length is not a number") from None
        if self.length > self.settings.max_request_bytes:
            raise too_large(self.settings.max_request_bytes)
        self.received = 0
        self.started = time.monotonic()
        self._read = _arrived_reader(self.environ["wsgi.input"])
        self._ended = self.length == 0

    @property
    def expected(self) -> int:
        """The most bytes this body can have."""
        return self.length if self.length >= 0 else self.settings.max_request_bytes

    def _chunk(self, size: int, deadline: float) -> bytes:
        if self._ended:
            return b""
        if time.monotonic() > deadline:
            raise SlowClient()
        data = read_client(self._read, size, self.settings.max_request_bytes)
        self.received += len(data)
        if self.received > self.settings.max_request_bytes:
            raise too_large(self.settings.max_request_bytes)
        self._ended = not data
        return data

    def _chunks(self) -> Iterator[bytes]:
        deadline = (time.monotonic() + self.settings.head_seconds
                    + (self.expected - self.received) / self.settings.min_bytes_per_second)
        while data := self._chunk(CHUNK, deadline):
            yield data

    def read_head(self) -> etree._Element | None:
        """Read up to the operation element (at most ``HEAD_BYTES``); the SOAP Header, or None.

        The operation element's tag is kept in ``operation`` (None when not reached).
        """
        parser = etree.XMLPullParser(events=("start", "end"), **SAFE_XML)
        deadline, chunks, size = self.started + self.settings.head_seconds, [], 0
        header: etree._Element | None = None
        while size < HEAD_BYTES and self.operation is None:
            data = self._chunk(HEAD_BYTES - size, deadline)
            if not data:
                break
            chunks.append(data)
            size += len(data)
            try:
                parser.feed(data)
            except etree.XMLSyntaxError:
                break  # the full parse says what is wrong, once the caller is known
            for event, element in parser.read_events():
                if event == "end" and element.tag == _HEADER:
                    header = element
                elif event == "start" and element.getparent() is None and element.tag != _ENVELOPE:
                    size = HEAD_BYTES  # not SOAP 1.1: nothing to look for
                elif event == "start" and element.getparent() is not None and element.getparent().tag == _BODY:
                    self.operation = element.tag
                    break
        self.head = b"".join(chunks)
        return header

    def read_rest(self) -> bytes:
        """The whole body: the head already read and the rest."""
        return b"".join([self.head, *self._chunks()])

    def drain(self) -> None:
        """Read and drop what is left."""
        for _ in self._chunks():
            pass


def drained(environ: dict, settings: ServerSettings, refusal: Refusal) -> Refusal:
    """The answer to a refused request, once what is left of its body is read and dropped so that
    the client reads the answer rather than a reset.

    cheroot would read the rest of a Content-Length body in one piece and with no deadline, and
    none of a chunked one. Here it goes in chunks, within a body's deadline; a body found too
    large or malformed on the way earns that refusal instead (a 413 closes the connection).
    """
    if not (environ.get("CONTENT_LENGTH") or environ.get("wsgi.input_terminated")):
        return refusal  # no body
    try:
        RequestBody(environ, settings).drain()
    except Refusal as instead:
        return instead
    return refusal

