"""Capped gunzip: zip bombs, truncated and corrupt streams, round trips."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib

import pytest

from b2b_soap.transfer import (
    CorruptCompressionError,
    PayloadTooLargeError,
    UnknownCompressionError,
    decode_part,
    gunzip_capped,
)

CONTENT = os.urandom(1000) + b"<Pupil/>" * 5000


def test_round_trip() -> None:
    assert gunzip_capped(gzip.compress(CONTENT), len(CONTENT)) == CONTENT


def test_content_of_exactly_the_cap_is_allowed() -> None:
    assert len(gunzip_capped(gzip.compress(CONTENT), len(CONTENT))) == len(CONTENT)
    with pytest.raises(PayloadTooLargeError) as caught:
        gunzip_capped(gzip.compress(CONTENT), len(CONTENT) - 1)
    assert caught.value.cap == len(CONTENT) - 1


def test_zip_bomb_stops_at_the_cap_without_allocating_the_content() -> None:
    bomb = gzip.compress(bytes(200 * 1024 * 1024), compresslevel=9)  # 200 MiB of zeros, ~200 KB
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLargeError):
            gunzip_capped(bomb, 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_truncated_stream_is_corrupt_not_short() -> None:
    data = gzip.compress(CONTENT)
    for cut in (len(data) - 1, len(data) - 8, len(data) // 2, 11):
        with pytest.raises(CorruptCompressionError):
            gunzip_capped(data[:cut], len(CONTENT))


def test_bad_crc_is_corrupt() -> None:
    data = bytearray(gzip.compress(CONTENT))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    with pytest.raises(CorruptCompressionError):
        gunzip_capped(bytes(data), len(CONTENT))


def test_flipped_byte_in_the_deflate_data_is_corrupt() -> None:
    data = bytearray(gzip.compress(CONTENT))
    data[len(data) // 2] ^= 0x55
    with pytest.raises(CorruptCompressionError):  # a generous cap: the damage may lengthen the output
        gunzip_capped(bytes(data), 100 * len(CONTENT))


@pytest.mark.parametrize("trailer", [b"garbage", b"\x00" * 4, gzip.compress(b"second member")])
def test_bytes_after_the_stream_are_corrupt(trailer: bytes) -> None:
    with pytest.raises(CorruptCompressionError):
        gunzip_capped(gzip.compress(CONTENT) + trailer, 10 * len(CONTENT))


@pytest.mark.parametrize("data", [b"", b"not gzip at all", zlib.compress(CONTENT)])
def test_not_gzip_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptCompressionError):
        gunzip_capped(data, len(CONTENT))


def test_decode_part() -> None:
    assert decode_part(gzip.compress(CONTENT), "Gzip", len(CONTENT)) == CONTENT
    assert decode_part(CONTENT, "None", len(CONTENT)) == CONTENT
    with pytest.raises(PayloadTooLargeError):
        decode_part(CONTENT, "None", len(CONTENT) - 1)
    with pytest.raises(UnknownCompressionError) as caught:
        decode_part(CONTENT, "Deflate", len(CONTENT))  # type: ignore[arg-type]
    assert caught.value.compression == "Deflate"
