"""Decompression with a hard cap on the output size (zip-bomb safe)."""

from __future__ import annotations

import zlib
from typing import Literal

from .errors import CorruptCompressionError, PayloadTooLargeError, UnknownCompressionError

__all__ = ["gunzip_capped", "decode_part"]

_GZIP_ONLY = 16 + zlib.MAX_WBITS


def gunzip_capped(data: bytes, cap: int) -> bytes:
    """Decompress one gzip member, never producing more than ``cap + 1`` bytes.

    Raises:
        PayloadTooLargeError: the content is larger than ``cap`` bytes.
        CorruptCompressionError: a bad header or CRC, a truncated stream (it did
            not reach its end, so the output would be silently short), or bytes
            after the end of the stream.
    """
    decompressor = zlib.decompressobj(_GZIP_ONLY)
    try:
        content = decompressor.decompress(data, cap + 1)
    except zlib.error as exc:
        raise CorruptCompressionError(f"damaged gzip stream: {exc}") from None
    if len(content) > cap:
        raise PayloadTooLargeError(cap)
    if not decompressor.eof:
        raise CorruptCompressionError("gzip stream is truncated")
    if decompressor.unused_data:
        raise CorruptCompressionError("bytes after the end of the gzip stream")
    return content


def decode_part(content: bytes, compression: Literal["None", "Gzip"], cap: int) -> bytes:
    """The plain bytes of one uploaded part, at most ``cap`` of them.

    Args:
        content: the part as received (after base64).
        compression: the FileHeader's Compression, "None" or "Gzip".
        cap: most bytes allowed after decompression.
    """
    if compression == "Gzip":
        return gunzip_capped(content, cap)
    if compression == "None":
        if len(content) > cap:
            raise PayloadTooLargeError(cap)
        return content
    raise UnknownCompressionError(compression)
