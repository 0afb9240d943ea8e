"""The header of a file against the call: the admin ImportFile takes FileGuid and TaskId from the
file (a second import is a DuplicateFile); UploadFile rejects a file whose TaskId is not the upload's."""
from __future__ import annotations

import pytest
import zeep

from b2b_soap.processing import run_pending
from b2b_soap.resources import package_path
from b2b_soap.security import ADMINISTRATION, REPORTS
from b2b_soap.transfer.writer import example_header, make_example_pupils, write_student_file
from server import running_server, zeep_client
from service_setup import PASSWORD, TNS, ServiceEnv, fault_code, file_header

STUDENT = package_path("schemas", "examples", "student-valid.xml").read_bytes()


def test_admin_import_of_a_sims_file_is_received_once(tmp_path, database_url):
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994001", "sims")
    env.add_school("9994002", "other")
    env.add_la_user("officer", {ADMINISTRATION: "Read-Write", REPORTS: "Read"})
    long_name = "student-valid-" + "x" * 282 + ".xml"
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        imported = admin.service.ImportFile(baseLaestab="9994001", fileName=long_name, content=STUDENT)
        assert (imported.Status, imported.Failure) == ("Received", None)
        assert admin.service.GetBaseReport("9994001").LastFile.FileName == long_name[:260]
        with pytest.raises(zeep.exceptions.Fault) as again:
            admin.service.ImportFile(baseLaestab="9994001", fileName="copy.xml", content=STUDENT)
        assert fault_code(again.value, admin) == "DuplicateFile" and imported.FileId in again.value.message
        with pytest.raises(zeep.exceptions.Fault) as foreign:
            admin.service.ImportFile(baseLaestab="9994002", fileName="student-valid.xml", content=STUDENT)
        assert fault_code(foreign.value, admin) == "ValidationFailed" and "9994001" in foreign.value.message


@pytest.mark.parametrize("upload_task", ["none", "another"])
def test_upload_whose_file_names_another_task_is_rejected(tmp_path, database_url, upload_task):
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        task_type = sims.get_type(f"{{{TNS}}}ScheduledTask")
        nightly, weekly = (sims.service.SaveScheduledTask(task=task_type(
            TaskId=0, Name=name, DataType="Student", Direction="Export", Frequency="Daily",
            TimeOfDay="01:00")).TaskId for name in ("nightly", "weekly"))
        data = write_student_file(example_header(task_id=nightly), make_example_pupils(3, 1))
        upload = {"none": None, "another": weekly}[upload_task]
        receipt = sims.service.UploadFile(header=file_header(sims, data, task_id=upload), content=data)
        assert [r.status for r in run_pending(env.ctx)] == ["Rejected"]
        [error] = sims.service.GetFileStatus(fileId=receipt.FileId).Errors.FileError
        assert receipt.Status == "Received" and error.Line == 3
        assert error.Message.startswith(f"TaskId {nightly} differs from the upload's TaskId")
        same = sims.service.UploadFile(header=file_header(sims, data, task_id=nightly), content=data)
        assert same.Status == "Received"
        assert [r.status for r in run_pending(env.ctx)] == ["Processed"]
