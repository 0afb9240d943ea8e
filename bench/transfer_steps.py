"""Median time of each step an uploaded 2,000-pupil Student file goes through.

Run: ``python bench/transfer_steps.py [pupils] [repeats]`` from the repository root.
Steps in the request: base64 decode, capped gunzip, SHA-256, XSD validation,
AES-GCM of the gzip bytes. Later, in the processing queue: streaming parse.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from b2b_soap.transfer import create_key_file, gunzip_capped, parse_pupils, validate_transfer  # noqa: E402
from b2b_soap.transfer.writer import example_header, make_example_pupils, write_student_file  # noqa: E402


def median_ms(step: Callable[[], object], repeats: int) -> float:
    step()  # warm up (schema compilation, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(pupils: int = 2000, repeats: int = 9) -> None:
    raw = write_student_file(example_header(), make_example_pupils(pupils, seed=1))
    packed = gzip.compress(raw)
    encoded = base64.b64encode(packed)
    with tempfile.TemporaryDirectory() as directory:
        ring = create_key_file(Path(directory) / "content.keys")
    contacts = sum(1 for _ in raw.split(b"<Contact>")) - 1
    print(f"{pupils} pupils, {contacts} contacts: {len(raw) / 2**20:.2f} MiB raw, "
          f"{len(packed) / 2**10:.0f} KiB gzip, {len(encoded) / 2**10:.0f} KiB base64; "
          f"median of {repeats}")
    steps: dict[str, Callable[[], object]] = {
        "base64 decode": lambda: base64.b64decode(encoded),
        "capped gunzip": lambda: gunzip_capped(packed, len(raw)),
        "SHA-256 (raw)": lambda: hashlib.sha256(raw).hexdigest(),
        "validate (parse + XSD)": lambda: validate_transfer(raw, "Student"),
        "AES-GCM encrypt gzip": lambda: ring.encrypt(packed, b"file-id"),
        "AES-GCM encrypt raw": lambda: ring.encrypt(raw, b"file-id"),
        "streaming parse (worker)": lambda: sum(1 for _ in parse_pupils(raw)),
    }
    for name, step in steps.items():
        print(f"  {name:<26} {median_ms(step, repeats):8.1f} ms")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
