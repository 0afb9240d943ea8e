"""B2B Attainment through the admin service (zeep against the real server): aspects and
hierarchies, files in the import directory, suspense and results out."""
from __future__ import annotations

import csv
import io

import pytest
import zeep
from sqlalchemy import func, select

from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE, make_school_attainment
from b2b_soap.attainment.hierarchies import load_hierarchy_file
from b2b_soap.attainment.jobs import import_attainment
from b2b_soap.db import (AttainmentImport, AttainmentResult, Base, Person, PersonIdentifier, SuspenseItem,
                         session_scope)
from b2b_soap.transfer.writer import make_example_pupils
from server import running_server, zeep_client
from service_setup import PASSWORD, TNS, ServiceEnv, fault_code, officer_env
from test_attainment_support import LAESTAB, accept, attainment_bytes, link_pupils

STRANGER_GUID = "0f0f0f0f-0000-4000-8000-000000000001"


@pytest.fixture
def env(tmp_path, database_url):
    environment = officer_env(tmp_path, database_url, LAESTAB)
    yield environment
    environment.close()


def _count(env: ServiceEnv, model) -> int:
    with session_scope(env.ctx.sessions) as session:
        return session.scalar(select(func.count()).select_from(model))


def _school(env: ServiceEnv):
    """The example hierarchies and a school whose pupils are all known: (base id, pupils)."""
    pupils = make_example_pupils(6, seed=3)
    with session_scope(env.ctx.sessions) as session:
        load_hierarchy_file(session, "la-admin", EXAMPLE_HIERARCHY_FILE)
        base_id = session.scalar(select(Base.id).where(Base.laestab == LAESTAB))
        link_pupils(session, base_id, pupils, 1.0)
    return base_id, pupils


def test_aspects_and_hierarchies_are_loaded_listed_and_added(env):
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        counts = dict(line.split("=") for line in admin.service.LoadHierarchies(
            content=EXAMPLE_HIERARCHY_FILE.read_text(encoding="utf-8"), format="JSON"))
        aspects = admin.service.ListAspects()
        assert len(aspects) == int(counts["aspects"]) > 0
        read = {a.Code: a for a in aspects}["KS2_ENG_READ"]
        assert read.ResultType == "grade" and "EXS" in read.Grades.string
        hierarchies = admin.service.ListHierarchies(namePrefix=None)
        assert len(hierarchies) == int(counts["hierarchies"]) > 0

        aspect_type = admin.get_type(f"{{{TNS}}}AspectInfo")
        saved = admin.service.SaveAspect(aspect=aspect_type(
            Code="LA_SWIM", Name="Swims 25 m", ResultType="grade", Grades={"string": ["Y", "N"]},
            NcYears={"string": ["5", "6"]}))
        assert (saved.Code, saved.Grades.string, saved.NcYears.string) == ("LA_SWIM", ["Y", "N"], ["5", "6"])
        assert {a.Code: a.Name for a in admin.service.ListAspects()}["LA_SWIM"] == "Swims 25 m"
        with pytest.raises(zeep.exceptions.Fault) as twice:
            admin.service.SaveAspect(aspect=aspect_type(Code="LA_SWIM", Name="Again", ResultType="grade",
                                                        Grades={"string": ["Y"]}))
        assert fault_code(twice.value, admin) == "ValidationFailed"

        hierarchy_type = admin.get_type(f"{{{TNS}}}HierarchyInfo")
        sport = admin.service.SaveHierarchy(hierarchy=hierarchy_type(
            Name="LA Sport 2026", Description="Swimming",
            AspectCodes={"string": ["LA_SWIM", "KS2_ENG_READ"]}))
        assert sport.HierarchyId > 0 and sport.AspectCodes.string == ["LA_SWIM", "KS2_ENG_READ"]
        [found] = admin.service.ListHierarchies(namePrefix="la sport")
        assert (found.HierarchyId, found.Description, found.AspectCodes.string) == (
            sport.HierarchyId, "Swimming", ["LA_SWIM", "KS2_ENG_READ"])
        assert len(admin.service.ListHierarchies(namePrefix=None)) == len(hierarchies) + 1


def test_unknown_pupil_in_suspense_is_matched_and_results_exported(env):
    base_id, pupils = _school(env)
    attainment = make_school_attainment(pupils, seed=0)
    stranger = attainment[0]
    stranger.sims_guid, stranger.upn = STRANGER_GUID, "A999400099999"
    file_id = accept(env.ctx, base_id, attainment_bytes(attainment))
    assert import_attainment(env.ctx)["suspense"] == 1
    with session_scope(env.ctx.sessions) as session:
        person = Person(upn="", forename=stranger.forename, surname=stranger.surname, dob=stranger.dob)
        session.add(person)
        session.flush()
        person_id = person.id
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        [waiting] = admin.service.ListAttainmentFiles(olderThanDays=None)
        assert (waiting.FileId, waiting.Status) == (file_id, "suspense")
        items = admin.service.ListSuspense(fileId=file_id, status=None, limit=None)
        assert len(items) == len(stranger.results)
        assert {(i.SimsGuid, i.Status) for i in items} == {(STRANGER_GUID, "open")}

        done = admin.service.ResolveSuspense(itemId=items[0].ItemId, personId=person_id, aspectCode=None,
                                             discard=None)
        assert (done.Resolved, done.Discarded, done.StillOpen, done.FileDone) == (len(items), 0, 0, True)
        with session_scope(env.ctx.sessions) as session:
            assert session.get(PersonIdentifier, (base_id, STRANGER_GUID)).person_id == person_id
            assert session.get(AttainmentImport, file_id).status == "done"
        assert not admin.service.ListSuspense(fileId=file_id, status=None, limit=None)
        assert {i.Status for i in admin.service.ListSuspense(fileId=file_id, status="all", limit=None)} == {
            "resolved"}
        assert not admin.service.ListAttainmentFiles(olderThanDays=None)

        exported = admin.service.ExportAttainmentResults(laestab=LAESTAB, hierarchy=None, aspectCode=None,
                                                         ncYear=None)
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert len(rows) == _count(env, AttainmentResult) == sum(len(p.results) for p in attainment)
        mine = [r for r in rows if r["person_id"] == str(person_id)]
        assert sorted(r["aspect_code"] for r in mine) == sorted(r.aspect_code for r in stranger.results)
        aspect = stranger.results[0].aspect_code
        one_aspect = list(csv.DictReader(io.StringIO(admin.service.ExportAttainmentResults(
            laestab=LAESTAB, hierarchy=None, aspectCode=aspect, ncYear=None))))
        assert one_aspect == [r for r in rows if r["aspect_code"] == aspect] != []
        with pytest.raises(zeep.exceptions.Fault) as unknown:
            admin.service.ExportAttainmentResults(laestab="9990000", hierarchy=None, aspectCode=None,
                                                  ncYear=None)
        assert fault_code(unknown.value, admin) == "NotFound"


def test_waiting_attainment_file_is_deleted(env):
    base_id, pupils = _school(env)
    file_id = accept(env.ctx, base_id, attainment_bytes(make_school_attainment(pupils)))
    path = env.settings.import_path / f"{file_id}.xml"
    assert path.exists()
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        [waiting] = admin.service.ListAttainmentFiles(olderThanDays=None)
        assert (waiting.FileId, waiting.Status) == (file_id, "waiting")
        assert not admin.service.ListAttainmentFiles(olderThanDays=1)
        admin.service.DeleteAttainmentFile(fileId=file_id)
        assert not path.exists()
        with session_scope(env.ctx.sessions) as session:
            assert session.get(AttainmentImport, file_id).status == "deleted"
        assert not admin.service.ListAttainmentFiles(olderThanDays=None)
        with pytest.raises(zeep.exceptions.Fault) as again:
            admin.service.DeleteAttainmentFile(fileId=file_id)
        assert fault_code(again.value, admin) == "ValidationFailed"
    assert import_attainment(env.ctx)["files"] == 0 and _count(env, SuspenseItem) == 0
