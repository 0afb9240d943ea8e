"""The attainment import job end to end: accepted file -> job -> results, failures, suspense."""
from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest
from sqlalchemy import func, select

from b2b_soap.licensing import ATTAINMENT_FEATURES
from b2b_soap.attainment.directories import waiting_files
from b2b_soap.attainment.examples import make_school_attainment
from b2b_soap.attainment.hierarchies import HierarchySpec, add_hierarchy
from b2b_soap.attainment.jobs import import_attainment
from b2b_soap.attainment.results import query_results, write_results_csv
from b2b_soap.attainment.suspense import delete_import_file, list_suspense, resolve_suspense
from b2b_soap.db import (AttainmentImport, AttainmentResult, AuditEntry, Base, Person, PersonIdentifier,
                         SuspenseItem, VirtualFile, session_scope)
from b2b_soap.errors import NotLicensed, ValidationFailed
from b2b_soap.transfer.models import AttainmentResult as FileResult
from test_attainment_support import (ACTOR, LAESTAB, accept, att_ctx, att_settings,  # noqa: F401
                                     attainment_bytes, install, school, school_file, vendor_key)


def _record(ctx, file_id) -> AttainmentImport:
    with session_scope(ctx.sessions) as session:
        return session.get(AttainmentImport, file_id)


def _count(ctx, model, **where) -> int:
    with session_scope(ctx.sessions) as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query)


def test_valid_file_is_imported_end_to_end(att_ctx, school):
    base_id, pupils = school
    expected = make_school_attainment(pupils, seed=0)
    file_id = accept(att_ctx, base_id, school_file(pupils, seed=0))
    counts = import_attainment(att_ctx)
    total = sum(len(p.results) for p in expected)
    assert counts == {"files": 1, "imported": 1, "suspense": 0, "failed": 0, "results": total, "suspended": 0}
    record = _record(att_ctx, file_id)
    assert record.status == "imported" and record.imported_at is not None
    assert os.listdir(att_ctx.settings.import_path) == []  # deleted once imported
    with session_scope(att_ctx.sessions) as session:
        rows = query_results(session, base=LAESTAB)
        assert len(rows) == total
        first = expected[0]
        person = session.scalar(select(Person).where(Person.upn == first.upn))
        mine = {r["aspect_code"]: r["value"] for r in rows if r["person_id"] == person.id}
        assert mine == {r.aspect_code: r.value for r in first.results}
        assert {r["hierarchy"] for r in rows} == {"B2B Primary 2026"}
        file = session.get(VirtualFile, file_id)  # what GetFileStatus tells the school
        assert (file.status, file.pupil_count, file.matched_count, file.unmatched_count) == (
            "Processed", len(expected), len(expected), 0)
    assert import_attainment(att_ctx)["files"] == 0  # nothing left to do
    accept(att_ctx, base_id, school_file(pupils, seed=1))  # the same collection again: updated in place
    assert import_attainment(att_ctx)["results"] == total
    assert _count(att_ctx, AttainmentResult) == total


def test_reimport_updates_results_instead_of_duplicating(att_ctx, school):
    base_id, pupils = school
    accept(att_ctx, base_id, school_file(pupils, seed=0))
    import_attainment(att_ctx)
    before = _count(att_ctx, AttainmentResult)
    accept(att_ctx, base_id, school_file(pupils, seed=1))
    assert import_attainment(att_ctx)["imported"] == 1
    assert _count(att_ctx, AttainmentResult) == before


@pytest.mark.parametrize("problem", ["hierarchy", "malformed", "wrong-base", "missing"])
def test_file_that_cannot_be_imported_stays_with_its_error(att_ctx, school, problem):
    base_id, pupils = school
    data = {"hierarchy": lambda: school_file(pupils, hierarchy="B2B Nonexistent"),
            "malformed": lambda: school_file(pupils)[:5000],
            "wrong-base": lambda: school_file(pupils, laestab="9990001"),
            "missing": lambda: school_file(pupils)}[problem]()
    file_id = accept(att_ctx, base_id, data)
    path = att_ctx.settings.import_path / f"{file_id}.xml"
    if problem == "missing":
        path.unlink()
    counts = import_attainment(att_ctx)
    assert counts["failed"] == 1 and counts["results"] == 0
    record = _record(att_ctx, file_id)
    assert record.status == "failed"
    with session_scope(att_ctx.sessions) as session:
        assert session.get(VirtualFile, file_id).status == "Failed"
    assert {"hierarchy": "B2B Nonexistent", "malformed": "not a readable attainment file",
            "wrong-base": "SourceLAESTAB 9990001", "missing": "no longer in the import directory"}[problem] \
        in record.error
    assert path.exists() == (problem != "missing")  # stays in the import folder
    with session_scope(att_ctx.sessions) as session:
        listed = waiting_files(session, att_ctx.settings)
        assert [(f["file_id"], f["status"], f["error"]) for f in listed] == [
                (file_id, "failed", record.error)]
        assert _count(att_ctx, AttainmentResult) == 0
    assert import_attainment(att_ctx)["files"] == 0  # not retried unless asked


def test_failed_file_is_retried_once_the_cause_is_fixed(att_ctx, school):
    base_id, pupils = school
    file_id = accept(att_ctx, base_id, school_file(pupils, hierarchy="B2B Late 2026"))
    import_attainment(att_ctx)
    with session_scope(att_ctx.sessions) as session:
        codes = [r.aspect_code for p in make_school_attainment(pupils) for r in p.results]
        add_hierarchy(session, ACTOR, HierarchySpec("B2B Late 2026", aspects=list(dict.fromkeys(codes))))
    assert import_attainment(att_ctx, retry_failed=True)["imported"] == 1
    assert _record(att_ctx, file_id).status == "imported"


def test_failed_file_can_be_deleted_and_the_deletion_is_audited(att_ctx, school):
    base_id, pupils = school
    file_id = accept(att_ctx, base_id, b"<not xml")
    import_attainment(att_ctx)
    with session_scope(att_ctx.sessions) as session:
        assert delete_import_file(session, att_ctx.settings, ACTOR, file_id)["files_removed"] == 1
    assert os.listdir(att_ctx.settings.import_path) == []
    assert _record(att_ctx, file_id).status == "deleted"
    with session_scope(att_ctx.sessions) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "attainment.delete_file"))
        assert (entry.actor, entry.object_id, entry.before["status"]) == (ACTOR, file_id, "failed")
        with pytest.raises(ValidationFailed, match="deleted"):
            delete_import_file(session, att_ctx.settings, ACTOR, file_id)


def _suspense_file(att_ctx, school):
    """A file with: an unknown pupil, an unknown aspect, a grade outside its set."""
    base_id, pupils = school
    attainment = make_school_attainment(pupils, seed=0)
    stranger = attainment[0]
    stranger.sims_guid, stranger.upn = "0f0f0f0f-0000-4000-8000-000000000001", "A999400099999"
    day = attainment[1].results[0].collection_date
    attainment[1].results.append(FileResult("KS2_LATIN", "EXS", day))
    attainment[2].results.append(FileResult("KS1_SCI", "SUPERB", day))
    file_id = accept(att_ctx, base_id, attainment_bytes(attainment))
    return file_id, attainment


def test_suspense_is_created_and_resolved_then_files_are_deleted(att_ctx, school):
    file_id, attainment = _suspense_file(att_ctx, school)
    counts = import_attainment(att_ctx)
    stranger_results = len(attainment[0].results)
    assert counts["suspense"] == 1 and counts["suspended"] == stranger_results + 2
    assert _record(att_ctx, file_id).status == "suspense"
    import_file = att_ctx.settings.import_path / f"{file_id}.xml"
    suspense_file = att_ctx.settings.suspense_path / f"{file_id}.json"
    assert import_file.exists() and stat.S_IMODE(os.stat(suspense_file).st_mode) == 0o600
    document = json.loads(suspense_file.read_text())
    assert len(document["items"]) == counts["suspended"] and document["base"] == LAESTAB

    with session_scope(att_ctx.sessions) as session:
        items = list_suspense(session, file_id=file_id)
        by_reason = {key: [i for i in items if key in i.reason] for key in ("pupil not matched", "KS2_LATIN",
                                                                            "SUPERB")}
        assert len(by_reason["pupil not matched"]) == stranger_results
        person = Person(upn="", forename=attainment[0].forename, surname=attainment[0].surname,
                        dob=attainment[0].dob)
        session.add(person)
        session.flush()
        person_id = person.id
        latin, superb = by_reason["KS2_LATIN"][0].id, by_reason["SUPERB"][0].id
        first_pupil_item = by_reason["pupil not matched"][0].id

    with session_scope(att_ctx.sessions) as session:  # one call places all of the pupil's results
        done = resolve_suspense(session, att_ctx.settings, ACTOR, first_pupil_item, person_id=person_id)
        assert done == {"resolved": stranger_results, "discarded": 0, "still_open": 0, "file_done": False}
        assert session.get(PersonIdentifier, (school[0], attainment[0].sims_guid)).person_id == person_id
    with session_scope(att_ctx.sessions) as session:
        mapped = resolve_suspense(session, att_ctx.settings, ACTOR, latin, aspect_code="KS2_ENG_READ")
    assert mapped["resolved"] == 1
    assert import_file.exists() and suspense_file.exists()  # one item still open
    with session_scope(att_ctx.sessions) as session:
        still = resolve_suspense(session, att_ctx.settings, ACTOR, superb, aspect_code="KS1_READ")
        assert still["still_open"] == 1
        assert "not in the grade set of KS1_READ" in session.get(SuspenseItem, superb).reason
    with session_scope(att_ctx.sessions) as session:
        assert resolve_suspense(session, att_ctx.settings, ACTOR, superb, discard=True)["file_done"] is True

    assert not import_file.exists() and not suspense_file.exists()
    assert os.listdir(att_ctx.settings.import_path) == [] and os.listdir(att_ctx.settings.suspense_path) == []
    assert _record(att_ctx, file_id).status == "done"
    with session_scope(att_ctx.sessions) as session:
        assert len(query_results(session, aspect="KS2_ENG_READ")) >= 1
        assert len([r for r in query_results(session) if r["person_id"] == person_id]) == stranger_results
        with pytest.raises(ValidationFailed, match="already discarded"):
            resolve_suspense(session, att_ctx.settings, ACTOR, superb, discard=True)


def test_next_file_links_a_resolved_pupil_by_guid(att_ctx, school):
    file_id, attainment = _suspense_file(att_ctx, school)
    import_attainment(att_ctx)
    with session_scope(att_ctx.sessions) as session:
        item = list_suspense(session, file_id=file_id)[0]
        person = Person(upn="", forename="Late", surname="Arrival")
        session.add(person)
        session.flush()
        resolve_suspense(session, att_ctx.settings, ACTOR, item.id, person_id=person.id)
    accept(att_ctx, school[0], attainment_bytes(attainment[:1]))
    assert import_attainment(att_ctx)["imported"] == 1


def test_results_query_filters_and_csv(att_ctx, school):
    base_id, pupils = school
    accept(att_ctx, base_id, school_file(pupils))
    import_attainment(att_ctx)
    with session_scope(att_ctx.sessions) as session:
        everything = query_results(session)
        ks2 = query_results(session, hierarchy="B2B Primary 2026", aspect="KS2_MAT", ncy="6", base=LAESTAB)
        assert ks2 and all(r["aspect_code"] == "KS2_MAT" and r["ncy"] == "6" for r in ks2)
        assert len(ks2) == len([r for r in everything if r["aspect_code"] == "KS2_MAT" and r["ncy"] == "6"])
        assert query_results(session, ncy="11") == []
    out = io.StringIO()
    assert write_results_csv(everything, out) == len(everything)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(table) == len(everything) and table[0]["laestab"] == LAESTAB
    assert {"upn", "aspect_code", "value", "collection_date"} <= set(table[0])


def test_csv_cells_cannot_become_formulas():
    out = io.StringIO()
    write_results_csv([{c: "" for c in ("laestab", "person_id", "upn", "surname", "forename", "dob", "ncy",
                                        "hierarchy", "aspect_code", "aspect_name", "file_id", "imported_at",
                                        "collection_date")} | {"value": "=HYPERLINK(1)"}], out)
    assert "'=HYPERLINK(1)" in out.getvalue()


@pytest.mark.parametrize("missing", ATTAINMENT_FEATURES)
def test_each_missing_licence_feature_refuses_attainment(att_ctx, vendor_key, missing):
    install(att_ctx, vendor_key, [f for f in ATTAINMENT_FEATURES if f != missing])
    with session_scope(att_ctx.sessions) as session:
        session.add(Base(laestab=LAESTAB, name="Example Primary", b2b_enabled=True))
        session.flush()
        base_id = session.scalar(select(Base.id))
    with pytest.raises(NotLicensed, match=missing):
        accept(att_ctx, base_id, b"<x/>")
    assert not att_ctx.settings.import_path.exists() or os.listdir(att_ctx.settings.import_path) == []
    with pytest.raises(NotLicensed, match=missing):
        import_attainment(att_ctx)


def test_no_licence_at_all_refuses_attainment(att_ctx):
    with pytest.raises(NotLicensed, match="no valid B2B Student licence"):
        import_attainment(att_ctx)
