"""Server time of the review list, record and confirmation pages (conflicts, undo and re-match)
with 50,000 waiting records.

Builds a migrated database (SQLite in a temporary directory, or the PostgreSQL URL given
with --database-url, which must point at an empty database), inserts N unmatched pupils (each
with a contact) and N open conflicts over 200 bases, then requests each list page (every sort,
search and filter), record page and confirmation page through the real WSGI app (Flask test
client, signed in as an LA reviewer) and reports p50/p95 per page. On PostgreSQL the loaded tables
are vacuumed and analysed first, as autovacuum does within a minute of a bulk load.

    .venv/bin/python bench/web_pages.py [--records 50000] [--requests 40] [--database-url URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from b2b_soap.db import (Base, Conflict, IncomingRecord, MatchCandidate, Person, VirtualFile,  # noqa: E402
                         session_scope, upgrade)
from b2b_soap.web import make_web_app  # noqa: E402
from test_web_support import make_context, sign_in  # noqa: E402

BASES = 200
BATCH = 5000


def _bulk(session, model, rows) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start:start + BATCH])


def populate(ctx, records: int) -> None:
    rng = random.Random(7)
    now = datetime.now().replace(microsecond=0)
    with session_scope(ctx.sessions) as s:
        _bulk(s, Base, [{"laestab": f"999{5000 + i:04d}", "name": f"School {i}", "b2b_enabled": True}
                        for i in range(BASES)])
        base_ids = list(s.scalars(select(Base.id)))
        files = [{"id": str(uuid.uuid4()), "file_guid": str(uuid.uuid4()), "base_id": b, "data_type": "Student",
                  "file_name": f"students-{b}-{d}.xml", "total_bytes": 1, "sha256": "0" * 64, "status": "Processed",
                  "received_at": now - timedelta(days=d)} for b in base_ids for d in range(3)]
        _bulk(s, VirtualFile, files)
        _bulk(s, Person, [{"forename": f"F{i}", "surname": f"S{i % 5000}", "dob": date(2010, 1, 1) + timedelta(days=i % 3000),
                           "upn": "", "postcode": "ZZ9 9AA"} for i in range(records)])
        person_ids = list(s.scalars(select(Person.id).order_by(Person.id)))
        pupils = []
        for i in range(records):
            f = files[i % len(files)]
            pupils.append({"file_id": f["id"], "base_id": f["base_id"], "seq": i, "kind": "pupil",
                           "forename": f"Pupil{i}", "surname": f"S{i % 5000}",
                           "dob": date(2008, 1, 1) + timedelta(days=rng.randrange(5000)),
                           "ncy": str(rng.randrange(1, 12)), "status": "unmatched", "decision": "possible",
                           "has_candidates": i % 3 != 0, "received_at": f["received_at"], "postcode": "ZZ9 9AA"})
        _bulk(s, IncomingRecord, pupils)
        pupil_ids = list(s.scalars(select(IncomingRecord.id).order_by(IncomingRecord.id)))
        _bulk(s, IncomingRecord, [{**pupils[i], "seq": records + i, "kind": "contact", "pupil_id": pupil_ids[i],
                                   "forename": f"Carer{i}", "dob": date(1980, 1, 1), "ncy": ""}
                                  for i in range(records)])
        _bulk(s, Conflict, [{"person_id": person_ids[i], "field": "surname", "la_value": f"S{i}", "incoming_value": f"T{i}",
                             "base_id": files[i % len(files)]["base_id"], "file_id": files[i % len(files)]["id"],
                             "status": "open", "created_at": files[i % len(files)]["received_at"]}
                            for i in range(records)])


def decided_records(ctx) -> tuple[int, int]:
    """One waiting pupil with five candidates, and one matched pupil whose match opened three conflicts."""
    explanation = {"probability": 0.6, "match_weight": 3.0, "prior_bits": -10.0, "upn_match": False,
                   "comparisons": [{"name": "forename", "level": "one edit or jaro-winkler >= high", "bits": 6.1},
                                   {"name": "address", "level": "else", "bits": -3.4}]}
    with session_scope(ctx.sessions) as s:
        waiting, matched = s.scalars(select(IncomingRecord).order_by(IncomingRecord.id).limit(2)).all()
        persons = list(s.scalars(select(Person.id).order_by(Person.id.desc()).limit(6)))
        s.add_all(MatchCandidate(incoming_id=waiting.id, rank=rank, person_id=person, score=0.6 / rank, weight=3.0,
                                 explanation=explanation) for rank, person in enumerate(persons[:5], 1))
        matched.status, matched.decision, matched.person_id = "matched", "auto", persons[5]
        s.execute(insert(Conflict), [{"person_id": persons[5], "field": field, "la_value": "a", "incoming_value": "b",
                                      "incoming_id": matched.id, "base_id": matched.base_id, "status": "kept"}
                                     for field in ("forename", "address", "town")])
        return waiting.id, matched.id


def timed(client, url: str, requests: int) -> tuple[float, float]:
    client.get(url)  # warm caches and the query plan
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="b2b-web-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    world = make_context(tmp, url)
    started = time.perf_counter()
    populate(world.ctx, args.records)
    print(f"{url.split(':')[0]}: {args.records} unmatched pupils and {args.records} open conflicts "
          f"over {BASES} bases, loaded in {time.perf_counter() - started:.1f} s")
    waiting, matched = decided_records(world.ctx)
    if url.startswith("postgresql"):
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    client = make_web_app(world.ctx).test_client()
    sign_in(client)
    with world.ctx.sessions() as s:
        pupil = s.scalar(select(IncomingRecord.id).where(IncomingRecord.kind == "pupil").order_by(IncomingRecord.id.desc()))
        person = s.scalar(select(Conflict.person_id).order_by(Conflict.id.desc()))
    today = date.today()
    pages = [("Home (waiting counts)", "/"),
             ("Unmatched, first page", "/unmatched/"),
             ("Unmatched, page 500", "/unmatched/?page=500"),
             ("Unmatched, oldest first, page 500", "/unmatched/?sort=oldest&page=500"),
             ("Unmatched, by name, page 500", "/unmatched/?sort=name&page=500"),
             ("Unmatched, by age, page 500", "/unmatched/?sort=age&page=500"),
             ("Unmatched, by base, page 500", "/unmatched/?sort=base&page=500"),
             ("Unmatched, search name", "/unmatched/?q=pupil4999"),
             ("Unmatched, search date of birth", "/unmatched/?q=13/01/2016"),
             ("Unmatched, base + has candidates", "/unmatched/?base=9995007&candidates=yes"),
             ("Unmatched, NCY 5, age 10-12", "/unmatched/?ncy=5&min_age=10&max_age=12"),
             ("Unmatched, received from (date boxes)", f"/unmatched/?received_from-day={today.day}"
              f"&received_from-month={today.month}&received_from-year={today.year}"),
             ("Unmatched record (with contact)", f"/unmatched/{pupil}?list=sort%3Dname"),
             ("Conflicts, first page", "/conflicts/"),
             ("Conflicts, page 500", "/conflicts/?page=500"),
             ("Conflicts, one base", "/conflicts/?base=9995007"),
             ("Conflicts, one person", f"/conflicts/person/{person}"),
             ("Conflicts, confirm all (50,000)", "/conflicts/confirm?do=take"),
             ("Conflicts, confirm one base", "/conflicts/confirm?do=keep&base=9995007"),
             ("Record page, 5 candidates", f"/unmatched/{waiting}"),
             ("Undo confirmation", f"/unmatched/{matched}/reopen"),
             ("Re-match confirmation", f"/unmatched/{matched}/rematch?person_id=1")]
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    for name, path in pages:
        p50, p95 = timed(client, path, args.requests)
        worst = max(worst, p95)
        print(f"{name:40} {p50:8.1f} {p95:8.1f}")
    print(f"worst p95: {worst:.1f} ms (target < 200 ms)")
    world.ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
