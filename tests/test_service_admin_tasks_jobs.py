"""LA task and job operations of the admin service, through zeep against the real server."""
from __future__ import annotations

from pathlib import Path

import pytest
import zeep
from sqlalchemy import select

from b2b_soap import alerts
from b2b_soap.db import AuditEntry, session_scope
from b2b_soap.security import ADMINISTRATION, REPORTS
from server import running_server, zeep_client
from service_setup import PASSWORD, TNS, ServiceEnv, fault_code


@pytest.fixture
def env(tmp_path: Path, database_url: str):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school("9994001", "sims-1")
    environment.add_school("9994002", "sims-2")
    environment.add_la_user("officer", {ADMINISTRATION: "Read-Write", REPORTS: "Read"})
    environment.add_la_user("reader", {REPORTS: "Read"})
    yield environment
    environment.close()


def test_la_tasks_for_many_bases_reach_each_school_and_jobs_run_on_demand(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        task = admin.get_type(f"{{{TNS}}}ScheduledTask")(
            TaskId=0, Name="Census pull", DataType="Student", Direction="Export", Enabled=True,
            Frequency="Daily", TimeOfDay="02:00", IncludeLeavers=False)
        saved = admin.service.SaveTask(laestabs={"string": ["9994001", "9994002"]}, task=task)
        assert [(t.Owner, t.Name, t.Version) for t in saved] == [("LA", "Census pull", 1)] * 2

        first = zeep_client(srv, "sims-1", PASSWORD)
        [seen] = first.service.GetScheduledTasks()
        assert (seen.Owner, seen.TaskId) == ("LA", saved[0].TaskId)
        with pytest.raises(zeep.exceptions.Fault) as refused:  # the school may not change the LA's task
            first.service.DeleteScheduledTask(taskId=seen.TaskId)
        assert fault_code(refused.value, first) == "PermissionDenied"

        assert len(admin.service.ListTasks(laestab="9994002")) == 1
        admin.service.DeleteTask(taskId=saved[1].TaskId)
        assert not admin.service.ListTasks(laestab="9994002")
        assert not zeep_client(srv, "sims-2", PASSWORD).service.GetScheduledTasks()
        with pytest.raises(zeep.exceptions.Fault) as unknown:
            admin.service.SaveTask(laestabs={"string": ["9999999"]}, task=task)
        assert fault_code(unknown.value, admin) == "NotFound"

        run = admin.service.RunJob(action="clear_cache", args=None)
        assert run.Outcome == "ok" and run.Action == "clear_cache"
        reader = zeep_client(srv, "reader", PASSWORD, admin=True)
        assert run.RunId in [r.RunId for r in reader.service.ListJobRuns(job=None, limit=10)]
        with pytest.raises(zeep.exceptions.Fault) as denied:
            reader.service.RunJob(action="clear_cache", args=None)
        assert fault_code(denied.value, reader) == "PermissionDenied"
        with pytest.raises(zeep.exceptions.Fault) as bad:
            admin.service.RunJob(action="format_disk", args=None)
        assert fault_code(bad.value, admin) == "ValidationFailed"


def test_la_adds_changes_pauses_and_removes_maintenance_jobs(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        added = admin.service.AddJob(name="weekly-cache", action="clear_cache", cron="0 4 * * 0", seconds=None,
                                     args={"string": ["older_than_days=30"]}, paused=False)
        assert (added.Cron, added.Args.string if added.Args else None, added.Paused) == (
            "0 4 * * 0", ["older_than_days=30"], False)
        assert added.NextFireUtc is not None and added.ModifiedBy == "officer"
        changed = admin.service.ChangeJob(name="weekly-cache", action=None, cron=None, seconds=600, args=None)
        assert (changed.Cron, changed.Seconds, changed.Args.string) == (None, 600, ["older_than_days=30"])
        assert admin.service.PauseJob(name="weekly-cache").NextFireUtc is None
        assert admin.service.ResumeJob(name="weekly-cache").NextFireUtc is not None
        reader = zeep_client(srv, "reader", PASSWORD, admin=True)
        assert [j.Name for j in reader.service.ListJobs()] == ["weekly-cache"]
        with pytest.raises(zeep.exceptions.Fault) as denied:
            reader.service.PauseJob(name="weekly-cache")
        assert fault_code(denied.value, reader) == "PermissionDenied"
        with pytest.raises(zeep.exceptions.Fault) as bad:
            admin.service.AddJob(name="bad", action="clear_cache", cron="99 * * * *", seconds=None, args=None,
                                 paused=False)
        assert fault_code(bad.value, admin) == "ValidationFailed" and "99 * * * *" in bad.value.message
        assert admin.service.RemoveJob(name="weekly-cache") is True
        assert not admin.service.ListJobs()
        with pytest.raises(zeep.exceptions.Fault) as gone:
            admin.service.PauseJob(name="weekly-cache")
        assert fault_code(gone.value, admin) == "NotFound"
    with env.ctx.sessions() as s:
        trail = s.execute(select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.object_type == "maintenance_job").order_by(AuditEntry.id)).all()
    assert trail == [("job.add", "officer"), ("job.change", "officer"), ("job.pause", "officer"),
                     ("job.resume", "officer"), ("job.remove", "officer")]


def test_alerts_are_listed_with_filters(env: ServiceEnv) -> None:
    with session_scope(env.ctx.sessions) as session:
        alerts.raise_alert(session, env.settings, alerts.FILE_REJECTED, "File from 9994001 rejected", "body")
        alerts.raise_alert(session, env.settings, alerts.JOB_FAILED, "Job nightly failed", "body")
    with running_server(env.config_path) as srv:
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        listed = admin.service.ListAlerts(status=None, trigger=None, limit=None)
        assert [(a.Trigger, a.Subject) for a in listed] == [
            (alerts.JOB_FAILED, "Job nightly failed"), (alerts.FILE_REJECTED, "File from 9994001 rejected")]
        [rejected] = admin.service.ListAlerts(status=None, trigger=alerts.FILE_REJECTED, limit=None)
        assert (rejected.Status, rejected.Attempts) == (listed[1].Status, 0)
        assert len(admin.service.ListAlerts(status=None, trigger=None, limit=1)) == 1
        assert not admin.service.ListAlerts(status="sent", trigger=None, limit=None)
        reader = zeep_client(srv, "reader", PASSWORD, admin=True)
        with pytest.raises(zeep.exceptions.Fault) as denied:
            reader.service.ListAlerts(status=None, trigger=None, limit=None)
        assert fault_code(denied.value, reader) == "PermissionDenied"
