"""Benchmark: one 2,000-pupil Student file against a 250,000-person population, end to end.

    python bench/processing_file.py [--population 250000] [--pupils 2000] [--again 0] [--database-url URL]

Loads the demo population (``b2b_soap.synth``, seed 2026) with bulk inserts, builds a file
of pupils drawn from its children (one in ten changed: typo, moved house, new surname; one
in ten not in the population) with their carers as contacts, stores it as an upload, and
times the processing worker on three files with the population index built once, as a
running server keeps it: the first upload of 2,000 pupils, the same file again (the nightly
case: GUIDs known), and another 2,000 pupils. Prints the times and the peak RSS. ``--again N``
then sends the first pupils N more times (later nights) and prints the fastest and the median
of those runs: steadier figures on a busy machine.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from b2b_soap.config import settings_from_dict  # noqa: E402
from b2b_soap.context import AppContext  # noqa: E402
from b2b_soap.db import Base, session_scope, upgrade  # noqa: E402
from b2b_soap.processing import live_population  # noqa: E402
from b2b_soap.processing.run import process_next  # noqa: E402
from b2b_soap.synth import generate_population  # noqa: E402
from b2b_soap.transfer import IncomingPupil, create_key_file  # noqa: E402
from b2b_soap.files import FileStore, UploadHeader, Uploader  # noqa: E402
from b2b_soap.transfer.writer import example_header, write_student_file  # noqa: E402
import synthetic_files  # noqa: E402
from synthetic_files import PupilMaker  # noqa: E402

LAESTAB = "9994001"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_population(ctx: AppContext, size: int):
    persons, links = generate_population(size, seed=2026)
    with session_scope(ctx.sessions) as session:
        session.add(Base(laestab=LAESTAB, name="Bench School", b2b_enabled=True))
        synthetic_files.load_population(session, persons, links)
    return persons, links


def make_pupils(persons, links, count: int, seed: int) -> list[IncomingPupil]:
    return PupilMaker(persons, links).pupils(count, seed, estab=LAESTAB[3:])


def store(ctx: AppContext, pupils) -> str:
    data = write_student_file(example_header(source_laestab=LAESTAB), pupils)
    header = UploadHeader(file_guid=str(uuid.uuid4()), data_type="Student", file_name="bench.xml",
                          total_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), compression="Gzip")
    with session_scope(ctx.sessions) as session:
        base_id = session.query(Base.id).filter(Base.laestab == LAESTAB).scalar()
    receipt = FileStore(ctx).upload(Uploader(None, base_id, LAESTAB), header, gzip.compress(data))
    assert receipt.status == "Received", receipt
    return receipt.file_id


def timed_process(ctx: AppContext, label: str, quiet: bool = False) -> tuple[dict[str, float], float]:
    """Process the next file; (seconds in each step, seconds in all)."""
    started = time.perf_counter()
    result = process_next(ctx, "bench")
    elapsed = time.perf_counter() - started
    if not quiet:
        print(f"{label}: {elapsed:.2f} s  status {result.status}  pupils {result.pupils}  matched {result.matched}  "
              f"unmatched {result.unmatched}  conflicts {result.conflicts}  peak RSS {peak_rss_mb():.0f} MB\n"
              f"  steps: {result.phases}")
    return result.phases.seconds, elapsed


def later_nights(ctx: AppContext, pupils, nights: int) -> None:
    """The same pupils sent ``nights`` more times; the fastest and median file and write step, and the
    median of each step."""
    files = [store(ctx, pupils) for _ in range(nights)]
    steps, totals = zip(*(timed_process(ctx, file_id, quiet=True) for file_id in files))
    writes = [seconds.get("write", 0.0) for seconds in steps]
    print(f"the same pupils {nights} more times: file fastest {min(totals):.2f} s, median "
          f"{statistics.median(totals):.2f} s; write step fastest {min(writes):.3f} s, median "
          f"{statistics.median(writes):.3f} s")
    print("  median steps: " + " ".join(f"{step}={statistics.median(seconds.get(step, 0.0) for seconds in steps):.3f}s"
                                        for step in steps[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=250_000)
    parser.add_argument("--pupils", type=int, default=2_000)
    parser.add_argument("--again", type=int, default=0, help="send the first pupils this many more times")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        settings = settings_from_dict({"data_dir": tmp, "database": {"url": url}}, environ={})
        upgrade(url)
        create_key_file(settings.key_path)
        ctx = AppContext(settings)
        started = time.perf_counter()
        persons, links = load_population(ctx, args.population)
        print(f"population: {len(persons)} persons, {len(links)} carer links loaded in "
              f"{time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
        pupils = make_pupils(persons, links, args.pupils, seed=1)
        first, resent = store(ctx, pupils), store(ctx, pupils)
        other = store(ctx, make_pupils(persons, links, args.pupils, seed=2))
        del persons, links
        started = time.perf_counter()
        with session_scope(ctx.sessions) as session:
            live_population(ctx.engine).get(session, 16, date.today())
        print(f"population index built (once per process): {time.perf_counter() - started:.2f} s")
        timed_process(ctx, f"file 1 {first[:8]}: first upload of these pupils")
        timed_process(ctx, f"file 2 {resent[:8]}: the same pupils again (GUIDs known)")
        timed_process(ctx, f"file 3 {other[:8]}: other pupils, first upload")
        if args.again:
            later_nights(ctx, pupils, args.again)
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
