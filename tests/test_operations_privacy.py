"""Data-protection requests: export holds every table that references the person; erase leaves no trace."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import ForeignKey, select

from b2b_soap.db import (Aspect, AttainmentResult, AuditEntry, Base, CacheEntry, CarerLink, Conflict, Enrolment,
                         Finding, IncomingRecord, MatchCandidate, Model, Person, PersonIdentifier, SuspenseItem,
                         VirtualFile, session_scope, utcnow)
from b2b_soap.errors import NotFound, ValidationFailed
from b2b_soap.operations import erase_person, export_person, run_retention
from b2b_soap.security import audit

pytest_plugins = ["test_cli_support"]  # the cli fixture: same data directory and database as ctx

FORENAME, SURNAME, UPN, DOB = "Zebedee", "Quonsetworth", "A999400112001", date(2012, 3, 4)
OTHER_SURNAME = "Marchbanks"


def _seed(ctx) -> dict[str, int]:
    """The person in every table that can hold them, plus a carer, a sibling and an unrelated record."""
    with session_scope(ctx.sessions) as session:
        base = Base(laestab="9994001", name="Privacy School", b2b_enabled=True)
        aspect = Aspect(code="KS2READ", name="Reading", result_type="text")
        pupil = Person(upn=UPN, forename=FORENAME, surname=SURNAME, dob=DOB, gender="M",
                       address="1 Quonset Row", postcode="ZZ1 1ZZ", external_id="LA-77")
        carer = Person(forename="Carol", surname=OTHER_SURNAME, dob=date(1980, 1, 1))
        child = Person(forename="Dot", surname=OTHER_SURNAME, dob=date(2015, 5, 5))
        session.add_all([base, aspect, pupil, carer, child])
        session.flush()
        file_id = str(uuid.uuid4())
        session.add(VirtualFile(id=file_id, file_guid=str(uuid.uuid4()), base_id=base.id, data_type="Student",
                                file_name="census.xml", total_bytes=10, sha256="0" * 64, status="Processed",
                                content=ctx.keyring.encrypt(b"<x/>", file_id.encode()), key_id=ctx.keyring.current_key_id))
        session.flush()
        person_fields = dict(upn=UPN, forename=FORENAME, surname=SURNAME, dob=DOB, address="1 Quonset Row",
                             postcode="ZZ1 1ZZ", data={"preferred_forename": FORENAME, "upn": UPN},
                             explanation={"candidate": f"{FORENAME} {SURNAME}"})
        matched = IncomingRecord(file_id=file_id, base_id=base.id, seq=1, kind="pupil", sims_guid="guid-1",
                                 status="matched", decision="upn", person_id=pupil.id, **person_fields)
        waiting = IncomingRecord(file_id=file_id, base_id=base.id, seq=2, kind="pupil", sims_guid="guid-2",
                                 status="unmatched", decision="possible", has_candidates=True,
                                 **dict(person_fields, forename="Zeb"))
        unrelated = IncomingRecord(file_id=file_id, base_id=base.id, seq=3, kind="pupil", forename="Ann",
                                   surname="Other", status="unmatched", upn="B999400112002")
        session.add_all([matched, waiting, unrelated])
        session.flush()
        contact = IncomingRecord(file_id=file_id, base_id=base.id, seq=4, kind="contact", pupil_id=matched.id,
                                 forename="Carol", surname=OTHER_SURNAME, status="matched", person_id=carer.id)
        session.add(contact)
        session.add_all([
            PersonIdentifier(base_id=base.id, sims_guid="guid-1", person_id=pupil.id),
            CarerLink(child_id=pupil.id, carer_id=carer.id, relationship="Mother"),
            CarerLink(child_id=child.id, carer_id=pupil.id, relationship="Brother"),
            Enrolment(person_id=pupil.id, base_id=base.id, ncy="6", source_file_id=file_id),
            MatchCandidate(incoming_id=waiting.id, rank=1, person_id=pupil.id, score=0.8, weight=4.0,
                           explanation={"surname": SURNAME}),
            Finding(file_id=file_id, incoming_id=matched.id, code="UPN", field="upn",
                    message=f"UPN {UPN} has a temporary serial"),
            Conflict(person_id=pupil.id, field="surname", la_value=SURNAME, incoming_value=SURNAME + "e",
                     incoming_id=matched.id, file_id=file_id, base_id=base.id, status="open"),
            Conflict(person_id=pupil.id, field="postcode", la_value="ZZ1 1ZZ", incoming_value="ZZ1 1ZY",
                     base_id=base.id, status="kept", resolved_at=utcnow()),
            CacheEntry(person_id=pupil.id, field="surname", value=SURNAME, file_id=file_id),
            AttainmentResult(person_id=pupil.id, base_id=base.id, aspect_id=aspect.id, value="Secure",
                             collection_date=date(2024, 7, 1), file_id=file_id),
            SuspenseItem(file_id=file_id, base_id=base.id, sims_guid="guid-1", upn=UPN, forename=FORENAME,
                         surname=SURNAME, dob=DOB, aspect_code="KS2MATH", value="Secure", reason="unknown aspect",
                         status="resolved"),
        ])
        audit(session, "la.user", "person.update", "person", pupil.id, {"surname": SURNAME + "s"},
              {"surname": SURNAME}, detail="id LA-77")
        audit(session, "la.user", "incoming.match", "incoming_record", waiting.id, None, {"note": "checked"})
        audit(session, "la.user", "note", "", "", None, {"text": f"phoned about {FORENAME} {SURNAME}"})
        audit(session, "la.user", "base.add", "base", "9994001", None, {"name": "Privacy School"})
        return {"pupil": pupil.id, "carer": carer.id, "child": child.id, "waiting": waiting.id,
                "unrelated": unrelated.id, "file": file_id}


def _tables_referencing_persons() -> set[str]:
    return {table.name for table in Model.metadata.sorted_tables
            if any(isinstance(fk, ForeignKey) and fk.column.table.name == "persons" for fk in table.foreign_keys)}


def _all_text(ctx) -> list[tuple[str, str]]:
    """Every value of every column of every table, as text (JSON as JSON, dates ISO)."""
    found = []
    with ctx.engine.connect() as conn:
        for table in Model.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in row._mapping.items():
                    if value is None or isinstance(value, bytes):
                        continue
                    if isinstance(value, (dict, list)):
                        value = json.dumps(value, ensure_ascii=False)
                    elif isinstance(value, (date, datetime)):
                        value = value.isoformat()
                    found.append((f"{table.name}.{column}", str(value)))
    return found


def test_export_holds_every_table_that_references_the_person(ctx):
    ids = _seed(ctx)
    with session_scope(ctx.sessions) as session:
        data = export_person(session, ids["pupil"])
        assert export_person(session, "LA-77")["persons"][0]["id"] == ids["pupil"]
        with pytest.raises(NotFound):
            export_person(session, 999_999)
    json.dumps(data)  # JSON-ready
    for table in _tables_referencing_persons() | {"findings", "suspense_items", "virtual_files", "audit_log"}:
        assert data.get(table), f"export lacks {table}"
    assert {r["id"] for r in data["incoming_records"]} == {ids["waiting"], data["incoming_records"][0]["id"]}
    assert ids["unrelated"] not in {r["id"] for r in data["incoming_records"]}
    assert len(data["carer_links"]) == 2 and len(data["conflicts"]) == 2
    assert [f["file_name"] for f in data["virtual_files"]] == ["census.xml"]
    assert "content" not in data["virtual_files"][0]
    actions = sorted(e["action"] for e in data["audit_log"])
    assert actions == ["incoming.match", "note", "person.update"]


def test_erase_refuses_while_queued_then_leaves_no_trace(ctx):
    ids = _seed(ctx)
    with pytest.raises(ValidationFailed, match="unresolved queue"):
        with session_scope(ctx.sessions) as session:
            erase_person(session, ids["pupil"], "dpo")
    with session_scope(ctx.sessions) as session:
        result = erase_person(session, ids["pupil"], "dpo", force=True)
    assert result["forced"] and result["files_still_holding"] == [ids["file"]]

    leaks = [(where, value) for where, value in _all_text(ctx)
             if any(s in value for s in (FORENAME, SURNAME, UPN, DOB.isoformat()))]
    assert leaks == []
    with session_scope(ctx.sessions) as session:
        assert session.get(Person, ids["pupil"]) is None
        assert session.get(Person, ids["carer"]).surname == OTHER_SURNAME  # others untouched
        assert session.get(IncomingRecord, ids["unrelated"]).surname == "Other"
        contact = session.scalar(select(IncomingRecord).where(IncomingRecord.kind == "contact"))
        assert contact.surname == OTHER_SURNAME and contact.person_id == ids["carer"]
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "base.add")).after == {
            "name": "Privacy School"}
        tombstone = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.erase"))
        assert tombstone.object_id == str(ids["pupil"]) and tombstone.detail == "person erased"


def test_erase_can_purge_processed_files(ctx):
    ids = _seed(ctx)
    with session_scope(ctx.sessions) as session:
        result = erase_person(session, ids["pupil"], "dpo", force=True, purge_files=True)
        assert result["files_purged"] == [ids["file"]] and result["files_still_holding"] == []
        assert session.get(VirtualFile, ids["file"]).content is None


def test_retention_removes_old_decided_data_and_keeps_the_queue(ctx, cli):
    ids = _seed(ctx)
    with session_scope(ctx.sessions) as session:
        erase_person(session, ids["carer"], "dpo", force=True)
    old = datetime(2000, 1, 1)
    with session_scope(ctx.sessions) as session:
        for record in session.scalars(select(IncomingRecord)):
            record.received_at = old
        for conflict in session.scalars(select(Conflict)):
            conflict.resolved_at = old if conflict.status != "open" else None
        for entry in session.scalars(select(AuditEntry)):
            entry.at = old
    counts = cli.json("privacy", "retention", "--incoming-days", "30", "--resolved-conflict-days", "30",
                      "--audit-days", "30")
    assert counts == {"incoming_records_deleted": 1, "conflicts_deleted": 1, "audit_entries_deleted": 4}
    with session_scope(ctx.sessions) as session:
        assert {r.status for r in session.scalars(select(IncomingRecord))} == {"unmatched"}
        assert [c.status for c in session.scalars(select(Conflict))] == ["open"]
        assert [e.action for e in session.scalars(select(AuditEntry))] == ["person.erase"]
    assert cli.json("privacy", "retention") == {"incoming_records_deleted": 0, "conflicts_deleted": 0,
                                                "audit_entries_deleted": 0}
    assert run_retention(ctx) == {"incoming_records_deleted": 0, "conflicts_deleted": 0,
                                  "audit_entries_deleted": 0}


def test_privacy_backup_and_restore_commands(ctx, cli, tmp_path):
    ids = _seed(ctx)
    sqlite = ctx.settings.database_url.startswith("sqlite")
    if sqlite:  # pg_dump/pg_restore round trips are in test_operations_backup
        backup = cli("--json", "backup", str(tmp_path / "before-erase.db"))
        assert backup.code == 0 and "NOT in this backup" in backup.err
        assert json.loads(backup.out)["kind"] == "sqlite"
    assert cli.ok("privacy", "export", "--external-id", "LA-77", "-o", str(tmp_path / "sar.json")).code == 0
    assert json.loads((tmp_path / "sar.json").read_text())["persons"][0]["surname"] == SURNAME
    erased = cli.json("privacy", "erase", str(ids["pupil"]), "--force", "--actor", "dpo")
    assert erased["person_id"] == ids["pupil"]
    assert f"unknown person {ids['pupil']}" in cli.fails("privacy", "export", str(ids["pupil"]))
    if sqlite:
        restored = cli.json("restore", str(tmp_path / "before-erase.db"), "--force")
        assert restored["kind"] == "sqlite" and restored["revision"]
        assert cli.json("privacy", "export", str(ids["pupil"]))["persons"][0]["surname"] == SURNAME
        assert "is not a SQLite database" in cli.fails("restore", str(tmp_path / "sar.json"), "--force")
