"""Time Clear Conflicts over 100,000 open conflicts and Delete Files over 10,000 files.

    python bench/maintenance_jobs.py                       # SQLite (temporary file)
    python bench/maintenance_jobs.py --pg postgresql://postgres@127.0.0.1:5432/postgres

With --pg a throwaway database is created on that server and dropped afterwards. Half the
conflicts are clearable (the LA value now equals the incoming one); half the files are
eligible (old, processed/rejected), the rest must stay. Prints rows/second per job.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, make_url, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from b2b_soap.config import settings_from_dict  # noqa: E402
from b2b_soap.context import AppContext  # noqa: E402
from b2b_soap.db import Base, Conflict, FilePart, Person, VirtualFile, normalise_url, upgrade, utcnow  # noqa: E402
from b2b_soap.maintenance import clear_conflicts, delete_files  # noqa: E402

FIELDS = ("surname", "forename", "postcode", "dob")


def _seed(ctx: AppContext, conflicts: int, files: int) -> None:
    persons = conflicts // len(FIELDS)
    old, new = utcnow() - timedelta(days=400), utcnow()
    with ctx.engine.begin() as conn:
        conn.execute(insert(Base), [{"id": 1, "laestab": "9991001", "name": "Bench", "b2b_enabled": True,
                                     "phase": "", "created_at": new}])
        conn.execute(insert(Person), [
            {"id": i, "surname": f"S{i}", "forename": f"F{i}", "postcode": "AB1 2CD", "dob": date(2015, 1, 1),
             "upn": "", "middle_names": "", "preferred_surname": "", "gender": "", "address": "",
             "address_lines": "", "town": "", "uprn": "", "phone": "", "email": "", "created_at": new,
             "updated_at": new} for i in range(1, persons + 1)])
        current = {"surname": "S{}", "forename": "F{}", "postcode": "AB1 2CD", "dob": "2015-01-01"}
        rows = []
        for i in range(1, persons + 1):
            for n, field in enumerate(FIELDS):
                same = (i + n) % 2 == 0
                rows.append({"person_id": i, "field": field, "la_value": "old", "base_id": 1, "status": "open",
                             "incoming_value": current[field].format(i) if same else "different",
                             "created_at": new, "resolved_by": ""})
        conn.execute(insert(Conflict), rows)
        # The first ``files`` are past retention and processed/rejected; as many more must stay.
        keep = (("Processed", new), ("Received", old), ("Failed", old), ("Receiving", old))
        state = [(("Processed", "Rejected")[i % 2], old) if i < files else keep[i % 4] for i in range(files * 2)]
        conn.execute(insert(VirtualFile), [
            {"id": f"{i:036d}", "file_guid": f"{i:036d}", "base_id": 1, "data_type": "Student",
             "file_name": f"{i}.xml", "total_bytes": 2048, "sha256": "0" * 64, "status": state[i][0],
             "content": os.urandom(2048), "received_at": state[i][1], "source": "upload",
             "imported_by": "", "compression": "None", "part_count": 1, "parts_received": 1,
             "content_compression": "None", "key_id": "", "failure": "", "pupil_count": 0, "matched_count": 0,
             "unmatched_count": 0, "conflict_count": 0} for i in range(files * 2)])
        conn.execute(insert(FilePart), [{"file_id": f"{i:036d}", "part_number": 1, "content": b"x" * 512,
                                         "key_id": "", "size": 512, "received_at": old} for i in range(files * 2)])


def _time(label: str, rows: int, job) -> None:
    started = time.perf_counter()
    counts = job()
    elapsed = time.perf_counter() - started
    print(f"  {label:<16} {rows:>7} rows in {elapsed:6.2f} s = {rows / elapsed:>9,.0f} rows/s   {counts}")


def bench(url: str, label: str, conflicts: int, files: int) -> None:
    upgrade(url)
    ctx = AppContext(settings_from_dict({"database": {"url": url}}, environ={}))
    try:
        _seed(ctx, conflicts, files)
        with ctx.sessions() as s:
            eligible = s.scalar(select(func.count()).select_from(VirtualFile).where(
                VirtualFile.status.in_(("Processed", "Rejected")), VirtualFile.received_at < utcnow() - timedelta(days=90)))
        print(f"{label}: {conflicts:,} open conflicts, {files * 2:,} files ({eligible:,} past retention)")
        _time("Clear Conflicts", conflicts, lambda: clear_conflicts(ctx))
        _time("Delete Files", eligible, lambda: delete_files(ctx))
    finally:
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is created there)")
    parser.add_argument("--conflicts", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10_000, help="eligible files (as many more must stay)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "SQLite", args.conflicts, args.files)
    if args.pg:
        admin = create_engine(normalise_url(args.pg), isolation_level="AUTOCOMMIT")
        name = f"b2b_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            bench(make_url(normalise_url(args.pg)).set(database=name).render_as_string(hide_password=False),
                  "PostgreSQL", args.conflicts, args.files)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
