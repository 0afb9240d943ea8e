"""End to end: a school uploads through SOAP, the worker processes, an LA user resolves a
conflict through the admin service, and the same data sent again raises no new conflict."""
from __future__ import annotations

import time
from datetime import date

from b2b_soap.db import Person, VirtualFile, session_scope, utcnow
from b2b_soap.security import CONFLICTS, REPORTS, UNMATCHED
from b2b_soap.service import server as server_module
from processing_support import add_bystander, pupil, transfer_bytes
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header

WORKER = "b2b_soap.processing.worker:start_processing"


def _wait_processed(env: ServiceEnv, file_id: str) -> VirtualFile:
    """The server's own worker processes the file; wait for it."""
    deadline = time.monotonic() + 60
    while True:
        with session_scope(env.ctx.sessions) as session:
            vf = session.get(VirtualFile, file_id)
            if vf.status in ("Processed", "Failed") or time.monotonic() > deadline:
                session.expunge(vf)
                return vf
        time.sleep(0.2)


def test_upload_process_resolve_and_resend(tmp_path, database_url):
    assert WORKER in server_module.BACKGROUND_STARTERS
    env = ServiceEnv.create(tmp_path, database_url, processing={"enabled": True, "poll_seconds": 0.2})
    env.add_school("9994001", "sims")
    env.add_la_user("officer", {UNMATCHED: "Read-Write", CONFLICTS: "Read-Write", REPORTS: "Read"})
    add_bystander(env.ctx)
    with session_scope(env.ctx.sessions) as session:
        person = Person(forename="Leo", surname="Baker", dob=date(2012, 4, 12), gender="M", upn="",
                        address="12 High Street", town="Exampleton", postcode="EX1 2AB", updated_at=utcnow())
        session.add(person)
        session.flush()
        person_id = person.id
    data = transfer_bytes([pupil("Leo", "Baker-Smith", date(2012, 4, 12))])
    try:
        with running_server(env.config_path, background=True) as srv:
            school = zeep_client(srv, "sims", PASSWORD)
            receipt = school.service.UploadFile(header=file_header(school, data), content=data)
            first = _wait_processed(env, receipt.FileId)
            assert (first.status, first.matched_count, first.conflict_count) == ("Processed", 1, 1), srv.log()[-3000:]
            assert school.service.GetFileStatus(receipt.FileId).ConflictCount == 1

            admin = zeep_client(srv, "officer", PASSWORD, admin=True)
            page = admin.service.ListConflicts(baseLaestab="9994001", personId=None, field=None, page=1,
                                               pageSize=50)
            [conflict] = page.Items.ConflictItem
            assert (conflict.PersonId, conflict.Field, conflict.IncomingValue) == (person_id, "surname",
                                                                                   "Baker-Smith")
            assert admin.service.ResolveConflict(conflictId=conflict.ConflictId, action="keep") == "kept"

            again = school.service.UploadFile(header=file_header(school, data), content=data)
            second = _wait_processed(env, again.FileId)
            assert (second.status, second.matched_count, second.conflict_count) == ("Processed", 1, 0)
            assert admin.service.ListConflicts(baseLaestab="9994001", personId=None, field=None, page=1,
                                               pageSize=50).Total == 0
            report = admin.service.GetBaseReport(baseLaestab="9994001")
            assert report.OpenConflicts == 0 and report.LastFile.FileId == again.FileId
    finally:
        env.close()
