"""The one reader of stored content: decrypt, then inflate against the file's size as the reader reads.

Stored content is the client's bytes as sent (gzip stays gzip; a multi-part gzip file is a
multi-member gzip stream), encrypted with the file id as associated data. Every reader of a
file's content (the worker, key rotation, the tests) comes through here, so the storage
format does not leak past this module.
"""
from __future__ import annotations

import io
from typing import IO, Iterator

from ..db import VirtualFile
from ..errors import NotFound
from ..transfer import KeyRing
from ..transfer.compression import inflate_parts

__all__ = ["open_content", "read_content"]


class _Chunks(io.RawIOBase):
    """A binary stream over an iterator of byte chunks (what the streaming parser reads)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def open_content(keyring: KeyRing, vf: VirtualFile, cap: int | None = None) -> IO[bytes]:
    """The plain bytes of a complete virtual file as a stream, at most ``cap`` (default: its TotalBytes).

    Raises:
        NotFound: the file has no content (deleted, or still receiving).
        PayloadTooLargeError, CorruptCompressionError: while reading, as the content inflates.
    """
    if vf.content is None:
        raise NotFound(f"file {vf.id} has no content (deleted or still receiving)")
    raw = keyring.decrypt(vf.content, vf.id.encode())
    chunks = inflate_parts((raw,), vf.content_compression, vf.total_bytes if cap is None else cap,  # type: ignore[arg-type]
                           members=True)
    return io.BufferedReader(_Chunks(chunks), buffer_size=64 * 1024)


def read_content(keyring: KeyRing, vf: VirtualFile, cap: int | None = None) -> bytes:
    """The plain (decrypted, decompressed) bytes of a complete virtual file."""
    with open_content(keyring, vf, cap) as stream:
        return stream.read()
