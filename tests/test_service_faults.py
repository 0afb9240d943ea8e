"""Every B2BFault code over real HTTP, the lockout and its audit trail."""
from __future__ import annotations

import gzip
import re
import threading
import uuid
from pathlib import Path

import pytest
import zeep
from sqlalchemy import select

from b2b_soap.db import AuditEntry, Download, User, session_scope
from b2b_soap.licensing import B2B_STUDENT
from b2b_soap.security import ADMINISTRATION
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file

TNS = "http://schemas.b2b-soap.org/student/2026/01"


def fault_of(call, client) -> tuple[str, str]:
    """(Code, Message) of the typed B2BFault that ``call`` raises."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    fault = caught.value
    detail = client.get_element(f"{{{TNS}}}B2BFault").parse(fault.detail[0], client.wsdl.types)
    assert detail.Message == fault.message and detail.Message
    return detail.Code, detail.Message


def code_of(call, client) -> str:
    return fault_of(call, client)[0]


def test_gates_licence_base_permissions_and_lockout(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, features=[B2B_STUDENT],
                            security={"lockout_threshold": 3, "lockout_window_seconds": 600,
                                      "lockout_seconds": 600})
    env.add_school("9994000", "sims")
    env.add_school("9994001", "disabled", enabled=False)
    env.add_school("9994002", "noperms", permissions=False)
    env.add_school("9994003", "victim")
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        info = lambda c: c.service.GetServerInfo()  # noqa: E731
        assert code_of(lambda: info(zeep_client(srv, "disabled", PASSWORD)), sims) == "BaseNotEnabled"
        assert code_of(lambda: info(zeep_client(srv, "noperms", PASSWORD)), sims) == "PermissionDenied"
        # unknown user and wrong password answer alike
        assert code_of(lambda: info(zeep_client(srv, "nobody", PASSWORD)), sims) == "AuthenticationFailed"
        bad = zeep_client(srv, "victim", "wrong password here")
        assert code_of(lambda: info(bad), sims) == "AuthenticationFailed"
        assert code_of(lambda: info(bad), sims) == "AuthenticationFailed"
        assert code_of(lambda: info(bad), sims) == "AccountLocked"
        assert code_of(lambda: info(zeep_client(srv, "victim", PASSWORD)), sims) == "AccountLocked"
        assert code_of(lambda: info(zeep_client(srv, "victim", PASSWORD, basic=True)), sims) == "AccountLocked"
        # attainment needs PULSE and B2B_ATTAINMENT too
        data = student_file()
        assert code_of(lambda: sims.service.UploadFile(header=file_header(sims, data, data_type="Attainment"),
                                                       content=data), sims) == "NotLicensed"
        info(sims)
        with session_scope(env.ctx.sessions) as session:
            victim = session.scalar(select(User).where(User.username == "victim"))
            assert victim.locked_until is not None and victim.failed_logins >= 3
            actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor.in_(["victim", "nobody"])))
            actions = list(actions)
        assert actions.count("auth.failure") >= 5 and "auth.locked" in actions
        assert PASSWORD not in srv.log() and "wrong password here" not in srv.log()
    env.close()


def test_no_licence_and_request_faults(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, storage={"max_part_bytes": 1_000_000},
                            server={"max_concurrent_uploads": 1, "upload_wait_seconds": 0})
    env.add_school("9994000", "sims")
    env.add_la_user("la-admin", {ADMINISTRATION: "Read-Write"})
    with running_server(env.config_path) as srv:
        c = zeep_client(srv, "sims", PASSWORD)
        data = student_file(pupils=20)
        upload = lambda header, content=data: c.service.UploadFile(header=header, content=content)  # noqa: E731
        assert code_of(lambda: upload(file_header(c, data, guid="not-a-guid")), c) == "ValidationFailed"
        assert code_of(lambda: upload(file_header(c, data, data_type="Grades")), c) == "ValidationFailed"
        assert code_of(lambda: upload(file_header(c, data, part=3, parts=2)), c) == "ValidationFailed"
        assert code_of(lambda: upload(file_header(c, data, total=20 * 1024 * 1024 + 1)), c) == "PayloadTooLarge"
        big = b"x" * 1_000_001
        assert code_of(lambda: upload(file_header(c, big, parts=2), big), c) == "PayloadTooLarge"
        bomb = gzip.compress(b"<" + b" " * 30_000_000)
        assert code_of(lambda: upload(file_header(c, data, compression="Gzip"), bomb), c) == "PayloadTooLarge"
        assert code_of(lambda: upload(file_header(c, data, sha256="0" * 64)), c) == "ChecksumMismatch"
        assert code_of(lambda: upload(file_header(c, data, total=len(data) - 1)), c) == "ChecksumMismatch"
        assert code_of(lambda: upload(file_header(c, data, compression="Gzip"), b"not gzip"), c) == "ValidationFailed"
        guid = str(uuid.uuid4())
        upload(file_header(c, data, guid=guid))
        other = student_file(pupils=21)
        assert code_of(lambda: upload(file_header(c, other, guid=guid), other), c) == "DuplicateFile"
        assert code_of(lambda: c.service.GetFileStatus(fileId=str(uuid.uuid4())), c) == "NotFound"
        assert code_of(lambda: c.service.DownloadFile(fileId="nope"), c) == "NotFound"
        assert code_of(lambda: c.service.DeleteScheduledTask(taskId=987654), c) == "NotFound"
        # no taskId is task 0, the id no task has: answered as taskId=0 is, naming it
        assert fault_of(lambda: c.service.DeleteScheduledTask(), c) == fault_of(
            lambda: c.service.DeleteScheduledTask(taskId=0), c) == ("NotFound", "no scheduled task 0")
        task_type = c.get_type(f"{{{TNS}}}ScheduledTask")
        assert code_of(lambda: c.service.SaveScheduledTask(task=task_type(TaskId=0, Name="x", DataType="Student",
                                                                          Frequency="Hourly")), c) == "ValidationFailed"

        # InternalError: a stored download that no longer decrypts, answered with an incident id
        admin = zeep_client(srv, "la-admin", PASSWORD, admin=True)
        [download_id] = admin.service.QueueDownload(laestabs={"string": ["9994000"]}, fileName="f",
                                                    dataType="Student", content=b"payload")
        with session_scope(env.ctx.sessions) as session:
            row = session.get(Download, download_id)
            row.content = row.content[:-1] + bytes([row.content[-1] ^ 1])
        with pytest.raises(zeep.exceptions.Fault) as caught:
            c.service.DownloadFile(fileId=download_id)
        assert "incident id" in caught.value.message
        incident = caught.value.message.rsplit("incident id ", 1)[1].split()[0]
        assert re.fullmatch("[0-9a-f]{12}", incident), incident  # 48 random bits: unique in any log
        assert f"incident {incident}" in srv.log()
        assert code_of(lambda: c.service.DownloadFile(fileId=download_id), c) == "InternalError"

        # ServerBusy: one upload slot, no waiting for it, several large uploads sent at the same moment
        large = student_file(pupils=2000)
        body = gzip.compress(large)
        codes: list[str] = []
        clients = [zeep_client(srv, "sims", PASSWORD) for _ in range(8)]
        start = threading.Barrier(len(clients))

        def send(client) -> None:
            header = file_header(client, large, compression="Gzip")
            start.wait()
            try:
                client.service.UploadFile(header=header, content=body)
                codes.append("ok")
            except zeep.exceptions.Fault as fault:
                codes.append(client.get_element(f"{{{TNS}}}B2BFault").parse(fault.detail[0], client.wsdl.types).Code)

        threads = [threading.Thread(target=send, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert "ServerBusy" in codes and "ok" in codes, codes
    env.close()

    unlicensed = ServiceEnv.create(tmp_path / "unlicensed", database_url.replace("b2b.db", "b2b.db"), licensed=False)
    with session_scope(unlicensed.ctx.sessions) as session:  # same database: remove the licence
        from b2b_soap.db import Licence
        session.query(Licence).delete()
    with running_server(unlicensed.config_path) as srv:
        c = zeep_client(srv, "sims", PASSWORD)
        assert code_of(lambda: c.service.GetServerInfo(), c) == "NotLicensed"
        assert srv.health()["status"] == "degraded"
    unlicensed.close()


def test_faults_name_the_cause(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    env.add_la_user("la-admin", {ADMINISTRATION: "Read-Write"})
    with running_server(env.config_path) as srv:
        c = zeep_client(srv, "sims", PASSWORD)
        data = student_file(pupils=20)
        half = len(data) // 2
        guid = str(uuid.uuid4())
        first = c.service.UploadFile(header=file_header(c, data, guid=guid, part=1, parts=2), content=data[:half])
        code, message = fault_of(lambda: c.service.UploadFile(
            header=file_header(c, data, guid=guid, part=2, parts=3), content=data[half:]), c)
        assert code == "ValidationFailed" and "PartCount 3" in message and "FileGuid" in message, message
        other_sha = "ab" * 32
        code, message = fault_of(lambda: c.service.UploadFile(
            header=file_header(c, data, guid=guid, part=2, parts=2, sha256=other_sha), content=data[half:]), c)
        assert code == "ValidationFailed" and f"Sha256 {other_sha}" in message and "PartCount" not in message
        done = c.service.UploadFile(header=file_header(c, data, guid=guid, part=2, parts=2), content=data[half:])
        assert (done.FileId, done.Status) == (first.FileId, "Received")  # the earlier part was kept

        code, message = fault_of(lambda: c.service.UploadFile(header=file_header(c, data), content=gzip.compress(data)), c)
        assert code == "ChecksumMismatch" and "set Compression=Gzip" in message, message
        code, message = fault_of(lambda: c.service.UploadFile(header=file_header(c, data, sha256="0" * 64),
                                                              content=data), c)
        assert code == "ChecksumMismatch" and "Compression" not in message, message

        task_type = c.get_type(f"{{{TNS}}}ScheduledTask")
        late = task_type(TaskId=0, Name="nightly", DataType="Student", Direction="Export", Frequency="Daily",
                         TimeOfDay="25:00")
        code, message = fault_of(lambda: c.service.SaveScheduledTask(task=late), c)
        assert code == "ValidationFailed" and "TimeOfDay" in message and "time_of_day" not in message, message
        weekly = task_type(TaskId=0, Name="weekly", DataType="Student", Direction="Export", Frequency="Weekly",
                           TimeOfDay="06:00")
        code, message = fault_of(lambda: c.service.SaveScheduledTask(task=weekly), c)
        assert "DaysOfWeek" in message and "days_of_week" not in message, message
        admin = zeep_client(srv, "la-admin", PASSWORD, admin=True)
        admin_task = admin.get_type(f"{{{TNS}}}ScheduledTask")(TaskId=0, Name="n", DataType="Student",
                                                               Direction="Export", Frequency="Daily", TimeOfDay="7pm")
        with pytest.raises(zeep.exceptions.Fault) as caught:
            admin.service.SaveTask(laestabs={"string": ["9994000"]}, task=admin_task)
        assert "TimeOfDay" in caught.value.message and "time_of_day" not in caught.value.message
    env.close()
