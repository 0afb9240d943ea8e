"""LA review through the admin service (zeep against the real server): unmatched records,
conflicts, persons and files, each effect checked in the database or by the next call."""
from __future__ import annotations

from datetime import date

import pytest
import zeep
from sqlalchemy import select

from b2b_soap.db import Base, Conflict, IncomingRecord, Person, QueueEntry, VirtualFile, session_scope
from b2b_soap.processing import run_pending
from processing_support import (add_bystander, add_person, add_surname_conflicts, get_person, pupil,
                                transfer_bytes, upload)
from server import running_server, zeep_client
from service_setup import PASSWORD, TNS, ServiceEnv, fault_code, officer_env

LAESTAB = "9994001"


@pytest.fixture
def env(tmp_path, database_url):
    environment = officer_env(tmp_path, database_url, LAESTAB)
    add_bystander(environment.ctx)
    yield environment
    environment.close()


def _base_id(env: ServiceEnv) -> int:
    with session_scope(env.ctx.sessions) as session:
        return session.scalar(select(Base.id).where(Base.laestab == LAESTAB))


def _record(env: ServiceEnv, incoming_id: int) -> tuple:
    with session_scope(env.ctx.sessions) as session:
        record = session.get(IncomingRecord, incoming_id)
        return record.status, record.decision, record.person_id, record.reason


def _open_conflicts(env: ServiceEnv) -> dict[int, int]:
    """Open conflict id -> person id."""
    with session_scope(env.ctx.sessions) as session:
        query = select(Conflict.id, Conflict.person_id).where(Conflict.status == "open")
        return dict(session.execute(query).all())


def _unmatched_page(admin):
    return admin.service.ListUnmatched(baseLaestab=LAESTAB, ncy=None, minAge=None, maxAge=None,
                                       hasCandidates=None, page=1, pageSize=50)


def test_imported_file_is_reviewed_record_by_record(env):
    # A person nobody would match automatically, so only a manual match can link a record to it.
    target = add_person(env.ctx, forename="Jack", surname="Oldfield", dob=date(2010, 1, 9), gender="M",
                        address="3 Mill Lane", town="Elsewhere", postcode="ZZ1 1ZZ")
    data = transfer_bytes([pupil("Kai", "Moreno", date(2011, 3, 3)),
                           pupil("Ava", "Stone", date(2012, 5, 6), gender="F"),
                           pupil("Noah", "Field", date(2013, 7, 8))])
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        imported = admin.service.ImportFile(baseLaestab=LAESTAB, fileName="pupils.xml", content=data)
        assert (imported.Status, imported.Base, imported.Source) == ("Received", LAESTAB, "import")
        with session_scope(env.ctx.sessions) as session:
            vf = session.get(VirtualFile, imported.FileId)
            assert (vf.source, vf.file_name, vf.base_id) == ("import", "pupils.xml", _base_id(env))
        assert [r.status for r in run_pending(env.ctx)] == ["Processed"]

        page = _unmatched_page(admin)
        ids = {item.Forename: item.IncomingId for item in page.Items.IncomingSummary}
        assert page.Total == 3 and set(ids) == {"Kai", "Ava", "Noah"}
        unpaged = admin.service.ListUnmatched(baseLaestab=LAESTAB, ncy=None, minAge=None, maxAge=None,
                                              hasCandidates=None, page=None, pageSize=None)
        assert (unpaged.Page, unpaged.PageSize, unpaged.Total) == (1, 50, 3)  # left out: the first 50
        detail = admin.service.GetIncoming(incomingId=ids["Kai"])
        assert (detail.Record.IncomingId, detail.Record.Surname, detail.Record.Dob) == (
            ids["Kai"], "Moreno", date(2011, 3, 3))
        assert detail.Record.FileId == imported.FileId

        matched = admin.service.MatchIncoming(incomingId=ids["Kai"], personId=target)
        assert (matched.IncomingId, matched.PersonId, matched.Decision) == (ids["Kai"], target, "manual")
        assert _record(env, ids["Kai"])[:3] == ("matched", "manual", target)

        created = admin.service.CreatePersonFromIncoming(incomingId=ids["Ava"])
        assert (created.IncomingId, created.Decision) == (ids["Ava"], "new")
        person = get_person(env.ctx, created.PersonId)
        assert (person.forename, person.surname, person.dob) == ("Ava", "Stone", date(2012, 5, 6))
        assert _record(env, ids["Ava"])[:3] == ("matched", "new", created.PersonId)

        assert admin.service.RejectIncoming(incomingId=ids["Noah"], reason="left the LA") == "rejected"
        status, _, person_id, reason = _record(env, ids["Noah"])
        assert (status, person_id, reason) == ("rejected", None, "left the LA")
        with pytest.raises(zeep.exceptions.Fault) as twice:
            admin.service.RejectIncoming(incomingId=ids["Noah"], reason="")
        assert fault_code(twice.value, admin) == "ValidationFailed"

        assert _unmatched_page(admin).Total == 0
        report = admin.service.GetBaseReport(baseLaestab=LAESTAB)
        assert report.WaitingUnmatched == 0 and report.LastFile.FileId == imported.FileId
    with session_scope(env.ctx.sessions) as session:
        vf = session.get(VirtualFile, imported.FileId)
        assert (vf.matched_count, vf.unmatched_count) == (2, 0)


def test_conflicts_are_resolved_together_all_or_none_and_persons_updated(env):
    persons = add_surname_conflicts(env.ctx, _base_id(env))
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        page = admin.service.ListConflicts(baseLaestab=LAESTAB, personId=None, field=None, page=1,
                                           pageSize=50)
        by_person = {c.PersonId: c.ConflictId for c in page.Items.ConflictItem}
        assert page.Total == 3 and set(by_person) == set(persons.values())
        leo, mia, zoe = (by_person[persons[name]] for name in ("Leo", "Mia", "Zoe"))
        unpaged = admin.service.ListConflicts(baseLaestab=LAESTAB, personId=None, field=None, page=None,
                                              pageSize=None)
        assert (unpaged.Page, unpaged.PageSize, unpaged.Total) == (1, 50, 3)  # left out: the first 50

        assert admin.service.ResolveConflicts(conflictIds={"long": [leo, mia]}, action="take") == 2
        assert _open_conflicts(env) == {zoe: persons["Zoe"]}
        assert get_person(env.ctx, persons["Leo"]).surname == "Baker-Ward"
        assert get_person(env.ctx, persons["Mia"]).surname == "Carter-Ward"

        with pytest.raises(zeep.exceptions.Fault) as again:  # mia is resolved already: nothing changes
            admin.service.ResolveConflicts(conflictIds={"long": [zoe, mia]}, action="keep")
        assert fault_code(again.value, admin) == "ValidationFailed"
        assert _open_conflicts(env) == {zoe: persons["Zoe"]}

        field = admin.get_type(f"{{{TNS}}}FieldValue")
        changed = admin.service.UpdatePerson(personId=persons["Zoe"], fields={"FieldValue": [
            field(Name="surname", Value="Hill-Ward"), field(Name="forename", Value="Zoe")]})
        assert changed == ["surname"]
        assert get_person(env.ctx, persons["Zoe"]).surname == "Hill-Ward"
        assert admin.service.ResolveConflicts(conflictIds={"long": [zoe]}, action="keep") == 1
        assert _open_conflicts(env) == {}


def test_failed_file_is_retried_and_then_processed(env):
    file_id = upload(env.ctx, _base_id(env), [pupil("Ivy", "Lane", date(2012, 1, 1))])
    with session_scope(env.ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        good, vf.content = vf.content, vf.content[:-1] + bytes([vf.content[-1] ^ 1])
    assert [r.status for r in run_pending(env.ctx)] == ["Failed"]
    with session_scope(env.ctx.sessions) as session:
        session.get(VirtualFile, file_id).content = good
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        assert admin.service.RetryFile(fileId=file_id) == "Received"
        with session_scope(env.ctx.sessions) as session:
            assert session.get(VirtualFile, file_id).failure == ""
            assert session.scalars(select(QueueEntry.file_id)).all() == [file_id]
        with pytest.raises(zeep.exceptions.Fault) as not_failed:
            admin.service.RetryFile(fileId=file_id)
        assert fault_code(not_failed.value, admin) == "ValidationFailed"
        assert [r.status for r in run_pending(env.ctx)] == ["Processed"]
        with pytest.raises(zeep.exceptions.Fault) as unknown:
            admin.service.ImportFile(baseLaestab="9990000", fileName="x.xml", content=b"<x/>")
        assert fault_code(unknown.value, admin) == "NotFound"
    with session_scope(env.ctx.sessions) as session:
        assert session.scalar(select(Person.id).where(Person.forename == "Ivy")) is None
        ivy = session.scalar(select(IncomingRecord).where(IncomingRecord.forename == "Ivy"))
        assert ivy.status == "unmatched"
