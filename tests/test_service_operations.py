"""Every operation over real HTTP with zeep (UsernameToken and Basic), tasks, LA -> school downloads."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import zeep

from b2b_soap.cli import main
from b2b_soap.security import ADMINISTRATION, REPORTS
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file, TNS, fault_code





@pytest.fixture
def env(tmp_path: Path, database_url: str):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school("9994000", "sims")
    environment.add_school("9994001", "other")
    environment.add_la_user("la-admin", {ADMINISTRATION: "Read-Write"})
    environment.add_la_user("la-reader", {REPORTS: "Read", ADMINISTRATION: "Read"})
    yield environment
    environment.close()


@pytest.mark.parametrize("basic", [False, True], ids=["token", "basic"])
def test_every_school_operation(env: ServiceEnv, basic: bool) -> None:
    with running_server(env.config_path) as srv:
        client = zeep_client(srv, "sims", PASSWORD, basic=basic)
        info = client.service.GetServerInfo()
        assert (info.LaNumber, info.LaName, info.MaxAttainmentFileBytes) == ("999", "Test LA", 2_097_152)
        assert info.DataTypes.string == ["Student", "Attainment"]
        assert info.ServerTimeUtc.tzinfo is not None  # sent as UTC with Z

        data = student_file("9994000")
        receipt = client.service.UploadFile(header=file_header(client, data), content=data)
        assert (receipt.Status, receipt.IsDuplicate, receipt.PartsReceived) == ("Received", False, 1)
        status = client.service.GetFileStatus(fileId=receipt.FileId)
        assert (status.FileId, status.Status, status.DataType, status.FileName) == (
            receipt.FileId, "Received", "Student", "pupils.xml")
        assert status.Errors is None or status.Errors.FileError == []

        task_type = client.get_type(f"{{{TNS}}}ScheduledTask")
        saved = client.service.SaveScheduledTask(task=task_type(
            TaskId=0, Name="Nightly pupils", DataType="Student", Direction="Export", Enabled=True,
            Frequency="Weekly", TimeOfDay="18:30", DaysOfWeek={"string": ["Mon", "Thu"]},
            NcYears={"string": ["7", "8"]}, IncludeLeavers=False))
        assert saved.TaskId > 0 and saved.Owner == "School" and saved.DaysOfWeek.string == ["Mon", "Thu"]
        assert saved.Version == 1
        tasks = client.service.GetScheduledTasks()
        assert [t.Name for t in tasks] == ["Nightly pupils"]
        saved.Name = "Nightly"
        changed = client.service.SaveScheduledTask(task=saved)
        assert (changed.Name, changed.Version) == ("Nightly", 2)
        assert client.service.DeleteScheduledTask(taskId=saved.TaskId) is None
        assert client.service.GetScheduledTasks() in (None, [])

        admin = zeep_client(srv, "la-admin", PASSWORD, basic=basic, admin=True)
        payload = b"<import>for the school</import>"
        ids = admin.service.QueueDownload(laestabs={"string": ["9994000"]}, fileName="back.xml",
                                          dataType="Student", content=payload)
        assert len(ids) == 1
        pending = client.service.GetPendingDownloads()
        assert [(d.FileId, d.FileName, d.TotalBytes, d.Sha256) for d in pending] == [
            (ids[0], "back.xml", len(payload), hashlib.sha256(payload).hexdigest())]
        downloaded = client.service.DownloadFile(fileId=ids[0])
        assert downloaded.Content == payload and downloaded.Info.FileName == "back.xml"
        assert client.service.AcknowledgeDownload(fileId=ids[0]) is None
        assert client.service.GetPendingDownloads() in (None, [])
        assert "PASSWORD" not in srv.log().upper().replace("PASSWORD_TEXT", "")


def test_school_sees_only_its_own_base(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        sims, other = zeep_client(srv, "sims", PASSWORD), zeep_client(srv, "other", PASSWORD)
        data = student_file("9994000")
        receipt = sims.service.UploadFile(header=file_header(sims, data), content=data)
        task_type = sims.get_type(f"{{{TNS}}}ScheduledTask")
        task = sims.service.SaveScheduledTask(task=task_type(TaskId=0, Name="t", DataType="Student",
                                                             Direction="Export", Frequency="Daily",
                                                             TimeOfDay="01:00"))
        admin = zeep_client(srv, "la-admin", PASSWORD, admin=True)
        download = admin.service.QueueDownload(laestabs={"string": ["9994000"]}, fileName="x.xml",
                                               dataType="Student", content=b"x")[0]
        own = student_file("9994001")
        under_sims_task = file_header(other, own)
        under_sims_task.TaskId = task.TaskId
        for call in (lambda: other.service.GetFileStatus(fileId=receipt.FileId),
                     lambda: other.service.UploadFile(header=under_sims_task, content=own),
                     lambda: other.service.DownloadFile(fileId=download),
                     lambda: other.service.AcknowledgeDownload(fileId=download),
                     lambda: other.service.DeleteScheduledTask(taskId=task.TaskId),
                     lambda: other.service.SaveScheduledTask(task=task)):
            with pytest.raises(zeep.exceptions.Fault) as fault:
                call()
            assert fault_code(fault.value, other) == "NotFound"
        assert other.service.GetPendingDownloads() in (None, [])
        assert other.service.GetScheduledTasks() in (None, [])
        # the same FileGuid at another base is another file
        again = other.service.UploadFile(header=file_header(other, student_file("9994001"),
                                                            guid=receipt.FileId), content=student_file("9994001"))
        assert again.FileId != receipt.FileId and not again.IsDuplicate


def test_admin_service_needs_la_permissions(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        reader = zeep_client(srv, "la-reader", PASSWORD, admin=True)
        with pytest.raises(zeep.exceptions.Fault) as fault:
            reader.service.QueueDownload(laestabs={"string": ["9994000"]}, fileName="x", dataType="Student",
                                         content=b"x")
        assert fault_code(fault.value, reader) == "PermissionDenied"
        school = zeep_client(srv, "sims", PASSWORD, admin=True)
        with pytest.raises(zeep.exceptions.Fault) as fault:
            school.service.QueueDownload(laestabs={"string": ["9994000"]}, fileName="x", dataType="Student",
                                         content=b"x")
        assert fault_code(fault.value, school) == "PermissionDenied"
        la = zeep_client(srv, "la-admin", PASSWORD)  # an LA user is not a school
        with pytest.raises(zeep.exceptions.Fault) as fault:
            la.service.GetServerInfo()
        assert fault_code(fault.value, la) == "PermissionDenied"
        admin = zeep_client(srv, "la-admin", PASSWORD, admin=True)
        with pytest.raises(zeep.exceptions.Fault) as fault:
            admin.service.QueueDownload(laestabs={"string": ["9990000"]}, fileName="x", dataType="Student",
                                        content=b"x")
        assert fault_code(fault.value, admin) == "NotFound"


def test_download_queue_and_pending_commands(env: ServiceEnv, tmp_path: Path, capsys) -> None:
    source = tmp_path / "for-schools.xml"
    source.write_bytes(b"<data/>")

    def command(*argv: str) -> list[dict]:
        assert main(["--config", str(env.config_path), "--json", "download", *argv]) == 0
        return json.loads(capsys.readouterr().out)

    queued = command("queue", "--base", "9994000", "--base", "9994001", str(source))
    assert [(q["base"], q["file_name"]) for q in queued] == [("9994000", "for-schools.xml"),
                                                               ("9994001", "for-schools.xml")]
    [pending] = command("pending", "--base", "9994000")
    assert (pending["id"], pending["total_bytes"], pending["downloaded_at"]) == (queued[0]["id"], 7, None)
    with running_server(env.config_path) as srv:
        for user in ("sims", "other"):
            client = zeep_client(srv, user, PASSWORD, basic=True)
            [offered] = client.service.GetPendingDownloads()
            assert client.service.DownloadFile(fileId=offered.FileId).Content == b"<data/>"
        zeep_client(srv, "sims", PASSWORD).service.AcknowledgeDownload(fileId=queued[0]["id"])
    assert command("pending", "--base", "9994000") == []
    assert [p["id"] for p in command("pending", "--base", "9994001")] == [queued[1]["id"]]
    assert main(["--config", str(env.config_path), "download", "pending", "--base", "9990000"]) == 1
    assert capsys.readouterr().err == "error: unknown base 9990000\n"
    for incomplete in (["download"], ["download", "queue", str(source)], ["download", "pending"]):
        with pytest.raises(SystemExit) as usage:
            main(["--config", str(env.config_path), *incomplete])
        assert usage.value.code == 2 and "required" in capsys.readouterr().err