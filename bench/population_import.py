"""Time loading an LA population: ``person import`` of a CSV and ``demo --no-serve``, on SQLite and
PostgreSQL, through the installed ``b2b-soap`` command as an administrator would run it.

    .venv/bin/python bench/population_import.py [--persons 250000] [--backends sqlite,postgresql]
                                                [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

PostgreSQL runs use a throwaway database that is dropped afterwards. Target: 250,000 persons in
under 60 s each on a 2-core machine.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, make_url, text

from b2b_soap.db import normalise_url
from b2b_soap.synth import generate_population

COLUMNS = ["id", "upn", "forename", "middle_names", "surname", "preferred_surname", "dob", "gender",
           "address", "town", "postcode", "uprn", "phone", "email"]
SCRIPT = Path(sys.executable).parent / "b2b-soap"
TARGET_SECONDS = 60.0


def write_csv(path: Path, size: int) -> None:
    persons, _ = generate_population(size)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for p in persons:
            writer.writerow([p.dob.isoformat() if c == "dob" else getattr(p, c) for c in COLUMNS])


@contextmanager
def database(backend: str, workdir: Path, pg_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"b2b_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(pg_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one b2b-soap command (CPU of the command, not of PostgreSQL)."""
    started, cpu = time.perf_counter(), _child_cpu()
    done = subprocess.run([str(SCRIPT), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"b2b-soap {' '.join(args)} failed:\n{done.stderr}")
    return seconds, _child_cpu() - cpu


def report(label: str, rows: int, timing: tuple[float, float]) -> None:
    seconds, cpu = timing
    verdict = "ok" if seconds < TARGET_SECONDS else f"OVER the {TARGET_SECONDS:.0f} s target"
    print(f"{label:46} {rows:>9,} rows {seconds:7.1f} s {rows / seconds:>9,.0f} rows/s  (CPU {cpu:5.1f} s, "
          f"load {os.getloadavg()[0]:4.1f})  {verdict}", flush=True)


def bench(backend: str, size: int, csv_path: Path, workdir: Path, pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B2B_SOAP_")}
    with database(backend, workdir, pg_url) as url:
        config = workdir / f"{backend}.toml"
        config.write_text(f'data_dir = "{workdir / backend}"\n\n[database]\nurl = "{url}"\n')
        run(["--config", str(config), "init"], env)
        report(f"{backend}: person import (new persons)", size,
               run(["--config", str(config), "person", "import", str(csv_path)], env))
        report(f"{backend}: person import again (unchanged)", size,
               run(["--config", str(config), "person", "import", str(csv_path)], env))
    with database(backend, workdir, pg_url) as url:
        demo_env = dict(env, B2B_SOAP_DATABASE_URL=url)
        report(f"{backend}: demo --persons {size} --no-serve", size,
               run(["demo", "--data-dir", str(workdir / f"demo-{backend}"), "--persons", str(size),
                    "--no-serve"], demo_env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=250_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for the throwaway PostgreSQL databases")
    args = parser.parse_args()
    if not SCRIPT.exists():
        raise SystemExit(f"{SCRIPT} is missing: install first (sh run-tests.sh --co -q, or pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="b2b-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "population.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.persons)
        print(f"generated {args.persons:,} persons into {csv_path.name} in "
              f"{time.perf_counter() - started:.1f} s ({os.cpu_count()} CPUs)", flush=True)
        for backend in args.backends.split(","):
            bench(backend.strip(), args.persons, csv_path, workdir, args.pg_url)


if __name__ == "__main__":
    main()
