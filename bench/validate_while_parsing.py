"""The worker's read of a Student file, two ways: XSD validation in the same streaming pass as
parsing, or the whole file validated first and then parsed.

    .venv/bin/python bench/validate_while_parsing.py [--pupils 2000] [--rounds 7]

Prints the median wall and CPU milliseconds of each, from the stored (encrypted, gzip) content,
and whether each way notices a truncated file. The worker validates first, then parses: as fast
on CPU, faster on the wall clock here, and lxml's ``iterparse(schema=..., resolve_entities=False)``
ends a truncated file without an error (the one-pass way below would process half a file).
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from b2b_soap.db import VirtualFile  # noqa: E402
from b2b_soap.files import open_content, read_content  # noqa: E402
from b2b_soap.processing.incoming import parsed_records  # noqa: E402
from b2b_soap.resources import package_path  # noqa: E402
from b2b_soap.transfer import KeyRing, load_schema, parse_pupils, validate_transfer  # noqa: E402
from b2b_soap.transfer.models import STUDENT_NS  # noqa: E402
from b2b_soap.transfer.parse import _pupil  # noqa: E402
from service_setup import student_file  # noqa: E402


def _validated_pupils(stream):
    """The reader's pupils with the XSD checked by the same iterparse (lxml's streaming validation)."""
    for _, elem in etree.iterparse(stream, events=("end",), tag=f"{{{STUDENT_NS}}}Pupil", resolve_entities=False,
                                   load_dtd=False, no_network=True, schema=load_schema("Student")):
        yield _pupil(elem)
        elem.clear()
        while elem.getprevious() is not None:
            del elem.getparent()[0]


def one_pass(ring: KeyRing, vf: VirtualFile) -> int:
    with open_content(ring, vf) as stream:
        return len(list(parsed_records(_validated_pupils(stream), date.today())))


def two_passes(ring: KeyRing, vf: VirtualFile) -> int:
    data = read_content(ring, vf)
    if not validate_transfer(data, "Student").ok:
        raise ValueError("invalid file")
    return len(list(parsed_records(parse_pupils(data), date.today())))


def _stored(ring: KeyRing, data: bytes) -> VirtualFile:
    return VirtualFile(id="bench", content=ring.encrypt(gzip.compress(data), b"bench"), content_compression="Gzip",
                       total_bytes=len(data))


def _notices(read, ring: KeyRing, data: bytes) -> bool:
    try:
        read(ring, _stored(ring, data))
    except Exception:  # noqa: BLE001 - any error is noticing
        return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    data = student_file("9994000", pupils=args.pupils)
    ring = KeyRing({"bench": b"k" * 32})
    vf = _stored(ring, data)
    truncated = package_path("schemas", "examples", "student-invalid-truncated.xml").read_bytes()
    print(f"{args.pupils} pupils, {len(data) / 1024:.0f} KiB")
    for name, read in (("one pass (validate while parsing)", one_pass), ("validate, then parse", two_passes)):
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            assert read(ring, vf) > args.pupils
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"{name}: median {statistics.median(walls) * 1000:.0f} ms wall, "
              f"{statistics.median(cpus) * 1000:.0f} ms CPU; notices a truncated file: "
              f"{_notices(read, ring, truncated)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
