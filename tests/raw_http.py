"""A strict HTTP/1.1 client over a raw socket, for checking the server's framing.

``http.client`` and ``requests`` accept a response with two ``Content-Length`` headers or with
both ``Content-Length`` and ``Transfer-Encoding``; Node's parser (and RFC 9112 section 6.3)
refuses it. :class:`RawConnection` parses the bytes itself and raises :class:`FramingError` on
any such response, reads interim 1xx responses, and keeps the connection open between requests.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

__all__ = ["FramingError", "RawConnection", "RawResponse", "request_bytes"]

_LIMIT = 64 * 1024 * 1024


class FramingError(AssertionError):
    """The response is not framed unambiguously."""


@dataclass
class RawResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    interim: list[int] = field(default_factory=list)  # 1xx statuses seen before this one

    def header(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def request_bytes(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
                  *, chunked: bool = False, host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """(request head, body as sent): Content-Length unless ``chunked``, then 3 chunks or fewer."""
    fields = {"Host": host, **(headers or {})}
    if chunked:
        fields["Transfer-Encoding"] = "chunked"
        size = max(1, -(-len(body) // 3))
        pieces = [body[i:i + size] for i in range(0, len(body), size)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    elif body or method == "POST":
        fields.setdefault("Content-Length", str(len(body)))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1"), body


class RawConnection:
    """One TCP connection; ``request`` may be called again while the server keeps it open."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.host = host

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
                *, chunked: bool = False) -> RawResponse:
        head, payload = request_bytes(method, target, headers, body, chunked=chunked, host=self.host)
        self.sock.sendall(head + payload)
        return self.response(method)

    def expect_continue(self, target: str, headers: dict[str, str], body: bytes) -> RawResponse:
        """POST with ``Expect: 100-continue``: the body goes only after the server's 100."""
        head, payload = request_bytes("POST", target, {**headers, "Expect": "100-continue"}, body, host=self.host)
        self.sock.sendall(head)
        interim = self._head()
        if interim.status != 100:
            raise FramingError(f"expected 100 Continue before the body, got {interim.status}")
        self.sock.sendall(payload)
        response = self.response("POST")
        response.interim.insert(0, 100)
        return response

    def response(self, method: str = "GET") -> RawResponse:
        interim = []
        response = self._head()
        while 100 <= response.status < 200:
            interim.append(response.status)
            response = self._head()
        response.interim = interim
        response.body = self._body(response, method)
        return response

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data
        if len(self.buffer) > _LIMIT:
            raise FramingError("response larger than the test limit")

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _head(self) -> RawResponse:
        status_line = self._line().decode("latin-1")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        if version not in ("HTTP/1.0", "HTTP/1.1") or not (status.isdigit() and len(status) == 3):
            raise FramingError(f"bad status line {status_line!r}")
        headers = []
        while line := self._line():
            if line[:1] in (b" ", b"\t"):
                raise FramingError(f"obsolete line folding: {line!r}")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise FramingError(f"bad header line {line!r}")
            headers.append((name, value.strip()))
        return RawResponse(version, int(status), reason, headers)

    def _body(self, response: RawResponse, method: str) -> bytes:
        lengths = response.values("Content-Length")
        encodings = response.values("Transfer-Encoding")
        if len(lengths) > 1:
            raise FramingError(f"{len(lengths)} Content-Length headers: {lengths}")
        if lengths and encodings:
            raise FramingError(f"both Content-Length and Transfer-Encoding ({encodings})")
        if len(encodings) > 1:
            raise FramingError(f"{len(encodings)} Transfer-Encoding headers")
        if method == "HEAD" or response.status in (204, 304):
            return b""
        if encodings:
            if encodings[0].lower() != "chunked":
                raise FramingError(f"Transfer-Encoding {encodings[0]!r} is not chunked")
            return self._chunks()
        if lengths:
            if not lengths[0].isdigit():
                raise FramingError(f"Content-Length {lengths[0]!r} is not a number")
            return self._exactly(int(lengths[0]))
        raise FramingError("no Content-Length and no Transfer-Encoding: the body is framed by closing")

    def _chunks(self) -> bytes:
        body = b""
        while True:
            size_line = self._line().split(b";", 1)[0].strip()
            size = int(size_line, 16)
            if size == 0:
                while self._line():  # trailers
                    pass
                return body
            body += self._exactly(size)
            if self._exactly(2) != b"\r\n":
                raise FramingError("a chunk is not followed by CRLF")
