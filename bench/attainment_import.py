"""Benchmark: import one 2 MB attainment file of a large primary school.

The file holds EYFSP (Reception), phonics (Years 1-2), KS1 (Year 2), the multiplication
tables check (Year 4) and KS2 (Years 3-6) results for every pupil, over the year's three
collections, sized to just under 2,097,152 bytes. Its pupils are linked in the database
first (half by SIMS GUID, half by UPN only), as the matching engine leaves them. The
time printed is the import job alone: read, parse, resolve pupils, check, store.

    .venv/bin/python bench/attainment_import.py [--database-url URL]

Target: under 5 s. Without --database-url a SQLite file in a temporary directory is used.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from b2b_soap.licensing import ATTAINMENT_FEATURES, install_licence  # noqa: E402
from b2b_soap.attainment.directories import accept_attainment_file  # noqa: E402
from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE, make_school_attainment  # noqa: E402
from b2b_soap.attainment.hierarchies import load_hierarchy_file  # noqa: E402
from b2b_soap.attainment.jobs import import_attainment  # noqa: E402
from b2b_soap.config import settings_from_dict  # noqa: E402
from b2b_soap.context import AppContext  # noqa: E402
from b2b_soap.db import Base, Person, PersonIdentifier, VirtualFile, session_scope, upgrade  # noqa: E402
from b2b_soap.licensing import generate_keypair, issue_licence, load_private_key  # noqa: E402
from b2b_soap.transfer.writer import example_header, make_example_pupils, write_attainment_file  # noqa: E402

LIMIT = 2_097_152
LAESTAB = "9994000"


def _file_for(pupils: list, terms: int = 3) -> bytes:
    header = example_header("Attainment", source_laestab=LAESTAB, aspect_hierarchy="B2B Primary 2026")
    return write_attainment_file(header, make_school_attainment(pupils, seed=1, terms=terms))


def school_file(limit: int = LIMIT) -> tuple[list, bytes]:
    """Primary pupils and the largest file of theirs that fits in ``limit`` bytes."""
    primary = [p for p in make_example_pupils(3000, seed=11) if p.ncy in ("R", "1", "2", "3", "4", "5", "6")]
    everyone = list({p.upn: p for p in primary}.values())  # example UPNs may repeat; a school's may not
    count = len(everyone) * limit // len(_file_for(everyone))  # pupils are alike in size: start near
    data = _file_for(everyone[:count])
    while len(data) > limit:
        count -= 1 + (len(data) - limit) * count // len(data)
        data = _file_for(everyone[:count])
    return everyone[:count], data


def _prepare(ctx: AppContext, vendor_key: Path, pupils: list, data: bytes) -> None:
    key = issue_licence(load_private_key(vendor_key), ctx.settings.la.number, list(ATTAINMENT_FEATURES),
                        date(2099, 1, 1))
    with session_scope(ctx.sessions) as session:
        install_licence(session, ctx.settings, "bench", key)
        load_hierarchy_file(session, "bench", EXAMPLE_HIERARCHY_FILE)
        base = Base(laestab=LAESTAB, name="Large Primary", b2b_enabled=True)
        session.add(base)
        session.flush()
        persons = [Person(upn=p.upn, forename=p.forename, surname=p.surname, dob=p.dob) for p in pupils]
        session.add_all(persons)
        session.flush()
        session.add_all(PersonIdentifier(base_id=base.id, sims_guid=p.sims_guid, person_id=person.id)
                        for p, person in list(zip(pupils, persons))[::2])
        file = VirtualFile(id=str(uuid.uuid4()), file_guid=str(uuid.uuid4()), base_id=base.id,
                           data_type="Attainment", file_name="attainment.xml", total_bytes=len(data),
                           sha256=hashlib.sha256(data).hexdigest(), status="Received")
        session.add(file)
        session.flush()
        accept_attainment_file(session, ctx.settings, file, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database to use (it is migrated first)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        url = args.database_url or f"sqlite:///{root / 'bench.db'}"
        upgrade(url)
        public_key = generate_keypair(root / "vendor.pem")
        settings = settings_from_dict({"data_dir": str(root / "data"), "database": {"url": url},
                                       "licence": {"public_key": public_key}}, environ={})
        pupils, data = school_file()
        ctx = AppContext(settings)
        try:
            _prepare(ctx, root / "vendor.pem", pupils, data)
            started = time.perf_counter()
            counts = import_attainment(ctx)
            elapsed = time.perf_counter() - started
        finally:
            ctx.close()
    backend = url.split(":", 1)[0]
    print(f"attainment import: {len(data):,} bytes, {len(pupils)} pupils, {counts['results']:,} results "
          f"({counts['imported']} file imported, {counts['suspended']} in suspense) on {backend}: "
          f"{elapsed:.2f} s (target < 5 s)")
    return 0 if counts["imported"] == 1 and elapsed < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
