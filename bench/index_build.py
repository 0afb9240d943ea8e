"""Time the cold build of the population indexes on PostgreSQL, as a server builds them at start.

    .venv/bin/python bench/index_build.py [--persons 1000000] [--runs 3] [--keep | --reuse NAME]
                                          [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Set-up: a throwaway database with ``--persons`` synthetic persons and their carer links
(``b2b_soap.synth``, loaded by COPY as ``bench/night_simulation.py`` loads them). ``--keep`` leaves
it in place and prints its name; ``--reuse NAME`` times a database kept so (and leaves it).
Each run is a fresh Python process doing what a server does at start (``LivePopulation.get``:
everyone's index, then the carers' subset), with the time of each step summed over its calls:
the database's factorisation query (the part of the read not spent coding), coding the distinct
values, the blocking keys and the sorted blocks per rule, and the carers' subset. Steps that run
at the same time (the query and the coding; rules built in parallel) overlap, so the steps may
add up to more than the total. Loopback only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from sqlalchemy import make_url, text  # noqa: E402

from b2b_soap.db import make_engine, make_sessionmaker, normalise_url, session_scope, upgrade  # noqa: E402
from night_simulation import _admin, _db_url  # noqa: E402

STEPS: dict[str, float] = defaultdict(float)


def _timed(owner, attr: str, step) -> None:
    """Add the time of every call of ``owner.attr`` (if the code timed has it) to ``STEPS[step(*args)]``."""
    original = getattr(owner, attr, None)
    if original is None:
        return

    @wraps(original)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            STEPS[step(*args, **kwargs)] += time.perf_counter() - started
    setattr(owner, attr, timed)


def _instrument() -> None:
    from b2b_soap.matching import _coding, blocking, index
    from b2b_soap.processing import population
    _timed(population, "_coded_with_postgresql", lambda *a: "read (query + coding)")
    _timed(population, "_distinct_values", lambda *a: "  database: distinct values of each field")
    _timed(population, "_positions", lambda *a: "  database: every person's positions among them")
    _timed(_coding.Coder, "code_values", lambda *a: "  coding distinct values (alongside)")
    _timed(index.PopulationIndex, "subset", lambda *a: "carers' subset (keys + sort)")
    for owner in (index, blocking):
        _timed(owner, "block_keys", lambda rule, *a: f"keys {rule}")
    _timed(blocking.SortedBlocks, "__init__", lambda *a: "sorted blocks (all rules, both indexes)")


def time_build(url: str) -> dict[str, float]:
    """One cold build in this process: the steps' seconds and the total."""
    _instrument()
    from b2b_soap.processing.population import LivePopulation
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    live = LivePopulation()
    started = time.perf_counter()
    with session_scope(sessions) as session:
        population = live.get(session, 18, date.today())
    total = time.perf_counter() - started
    engine.dispose()
    return {**STEPS, "persons": len(population.everyone), "carers": len(population.carers), "total": total}


def load(url: str, persons: int) -> None:
    from b2b_soap.synth import generate_population
    from synthetic_files import load_population
    upgrade(url)
    started = time.perf_counter()
    people, links = generate_population(persons, seed=2026)
    generated = time.perf_counter() - started
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        load_population(session, people, links)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"set-up: {len(people):,} persons and {len(links):,} carer links generated in {generated:.0f} s, "
          f"loaded in {time.perf_counter() - started - generated:.0f} s")


@contextmanager
def database(args):
    if args.reuse:
        yield _db_url(args.pg_url, args.reuse)
        return
    name = f"b2b_index_{uuid.uuid4().hex[:8]}"
    admin = _admin(args.pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = _db_url(args.pg_url, name)
        load(url, args.persons)
        yield url
    finally:
        if args.keep:
            print(f"kept database {name} (--reuse {name}; drop it when done)")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="cold builds, each in a fresh process")
    parser.add_argument("--keep", action="store_true", help="leave the database for --reuse")
    parser.add_argument("--reuse", metavar="NAME", help="time a database left by --keep (no set-up)")
    parser.add_argument("--pg-url", default=os.environ.get("B2B_SOAP_BENCH_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--one-build", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_build:
        print(json.dumps(time_build(args.one_build)))
        return 0
    if make_url(normalise_url(args.pg_url)).host not in ("127.0.0.1", "localhost", "::1", None):
        parser.error("the bench runs on loopback only")
    with database(args) as url:
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--one-build", url], check=True,
                                          capture_output=True, text=True).stdout) for _ in range(args.runs)]
    report(runs)
    return 0


def report(runs: list[dict[str, float]]) -> None:
    first = runs[0]
    print(f"cold build of {first['persons']:,} persons ({first['carers']:,} carers), {len(runs)} runs, "
          f"{os.cpu_count()} CPUs; seconds per step, summed over its calls")
    steps = [step for step in first if step not in ("persons", "carers", "total")]
    for step in [*sorted(steps), "total"]:
        values = [run.get(step, 0.0) for run in runs]
        print(f"  {step:<62} median {statistics.median(values):6.2f}   runs "
              + " ".join(f"{v:6.2f}" for v in values))


if __name__ == "__main__":
    sys.exit(main())
