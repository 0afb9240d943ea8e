"""Decompression with a hard cap on the output size (zip-bomb safe).

Everything here inflates as a stream in small chunks against one running total, so a
bomb costs at most the cap plus one chunk, however many parts or gzip members carry it.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Iterator, Literal

from .errors import CorruptCompressionError, PayloadTooLargeError, UnknownCompressionError

__all__ = ["gunzip_capped", "decode_part", "decode_parts", "check_part", "inflate_parts"]

_GZIP_ONLY = 16 + zlib.MAX_WBITS
CHUNK = 64 * 1024


def _gunzip_chunks(data: bytes, members: bool) -> Iterator[bytes]:
    """The decompressed chunks of a gzip stream (several members only when ``members``)."""
    pending = data
    while True:
        decompressor = zlib.decompressobj(_GZIP_ONLY)
        try:
            while True:
                chunk = decompressor.decompress(pending, CHUNK)
                pending = decompressor.unconsumed_tail
                if chunk:
                    yield chunk
                if decompressor.eof or not (chunk or pending):
                    break
        except zlib.error as exc:
            raise CorruptCompressionError(f"damaged gzip stream: {exc}") from None
        if not decompressor.eof:
            raise CorruptCompressionError("gzip stream is truncated")
        pending = decompressor.unused_data
        if not pending:
            return
        if not members:
            raise CorruptCompressionError("bytes after the end of the gzip stream")


def _part_chunks(content: bytes, compression: str, members: bool) -> Iterator[bytes]:
    if compression == "Gzip":
        return _gunzip_chunks(content, members)
    if compression == "None":
        return iter((content,))
    raise UnknownCompressionError(compression)


def inflate_parts(parts: Iterable[bytes], compression: Literal["None", "Gzip"], cap: int, *,
                  members: bool = False) -> Iterator[bytes]:
    """The plain chunks of ``parts`` in order, stopping once their running total passes ``cap``.

    Raises:
        PayloadTooLargeError: the parts together are larger than ``cap`` bytes.
        CorruptCompressionError: a bad header or CRC, a truncated stream (it did
            not reach its end, so the output would be silently short), or bytes
            after the end of the stream (unless ``members``: then a next gzip member).
        UnknownCompressionError: ``compression`` is neither "None" nor "Gzip".
    """
    total = 0
    for part in parts:
        for chunk in _part_chunks(part, compression, members):
            total += len(chunk)
            if total > cap:
                raise PayloadTooLargeError(cap)
            yield chunk


def decode_parts(parts: Iterable[bytes], compression: Literal["None", "Gzip"], cap: int, *,
                 members: bool = False) -> bytes:
    """The plain bytes of ``parts`` joined, at most ``cap`` of them (see :func:`inflate_parts`)."""
    return b"".join(inflate_parts(parts, compression, cap, members=members))


def check_part(content: bytes, compression: Literal["None", "Gzip"], cap: int) -> None:
    """Refuse a part that does not decompress to at most ``cap`` bytes, holding none of them."""
    for _ in inflate_parts((content,), compression, cap):
        pass


def decode_part(content: bytes, compression: Literal["None", "Gzip"], cap: int) -> bytes:
    """The plain bytes of one uploaded part, at most ``cap`` of them.

    Args:
        content: the part as received (after base64).
        compression: the FileHeader's Compression, "None" or "Gzip".
        cap: most bytes allowed after decompression.
    """
    return decode_parts((content,), compression, cap)


def gunzip_capped(data: bytes, cap: int) -> bytes:
    """Decompress one gzip member, never producing more than ``cap`` bytes (see :func:`inflate_parts`)."""
    return decode_part(data, "Gzip", cap)
