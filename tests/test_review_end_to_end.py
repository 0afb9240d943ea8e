"""End to end: a school uploads through SOAP, the worker processes, an LA user resolves a
conflict through the admin service, and the same data sent again raises no new conflict."""
from __future__ import annotations

import time
from datetime import date

from b2b_soap.db import Person, VirtualFile, session_scope, utcnow
from b2b_soap.processing.worker import start_processing
from b2b_soap.security import CONFLICTS, REPORTS, UNMATCHED
from b2b_soap.service import server as server_module
from processing_support import add_bystander, address, fresh_upn, pupil, transfer_bytes
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header


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


def _env_with_leo(tmp_path, database_url, rights: dict[str, str], upn: str) -> tuple[ServiceEnv, int]:
    """A server environment with one school, one LA user and the person Leo Baker."""
    env = ServiceEnv.create(tmp_path, database_url, processing={"enabled": True, "poll_seconds": 0.2})
    env.add_school("9994001", "sims")
    env.add_la_user("officer", rights)
    add_bystander(env.ctx)
    with session_scope(env.ctx.sessions) as session:
        person = Person(forename="Leo", surname="Baker", dob=date(2012, 4, 12), gender="M", upn=upn,
                        address="12 High Street", town="Exampleton", postcode="EX1 2AB", updated_at=utcnow())
        session.add(person)
        session.flush()
        return env, person.id


def _school_uploads(srv, env: ServiceEnv, data: bytes):
    """The school sends one file; returns its client, the receipt and the processed file."""
    school = zeep_client(srv, "sims", PASSWORD)
    receipt = school.service.UploadFile(header=file_header(school, data), content=data)
    return school, receipt, _wait_processed(env, receipt.FileId)


def test_upload_process_resolve_and_resend(tmp_path, database_url):
    assert start_processing in server_module.BACKGROUND_STARTERS
    env, person_id = _env_with_leo(tmp_path, database_url,
                                   {UNMATCHED: "Read-Write", CONFLICTS: "Read-Write", REPORTS: "Read"}, "")
    data = transfer_bytes([pupil("Leo", "Baker-Smith", date(2012, 4, 12))])
    try:
        with running_server(env.config_path, background=True) as srv:
            school, receipt, first = _school_uploads(srv, env, data)
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


def test_pupil_with_another_valid_upn_goes_to_review_not_matched(tmp_path, database_url):
    env, person_id = _env_with_leo(tmp_path, database_url, {UNMATCHED: "Read-Write"}, fresh_upn())
    # surname, date of birth and gender agree; forename and home differ; the UPN is valid and another child's
    other = address("7", "Mill Lane", "Otherton", "OT9 9ZZ")
    data = transfer_bytes([pupil("Noah", "Baker", date(2012, 4, 12), upn=fresh_upn(), home=other)])
    try:
        with running_server(env.config_path, background=True) as srv:
            _, _, done = _school_uploads(srv, env, data)
            assert (done.status, done.matched_count, done.unmatched_count) == ("Processed", 0, 1), srv.log()[-3000:]
            admin = zeep_client(srv, "officer", PASSWORD, admin=True)
            page = admin.service.ListUnmatched(baseLaestab="9994001", ncy=None, minAge=None, maxAge=None,
                                               hasCandidates=None, page=1, pageSize=50)
            [item] = page.Items.IncomingSummary
            assert (item.Decision, item.Reason, item.PersonId) == ("possible", "valid permanent UPNs differ", None)
            detail = admin.service.GetIncoming(incomingId=item.IncomingId)
            assert [c.PersonId for c in detail.Candidates.MatchCandidate] == [person_id]
    finally:
        env.close()
