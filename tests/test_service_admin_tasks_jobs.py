"""LA task and job operations of the admin service, through zeep against the real server."""
from __future__ import annotations

from pathlib import Path

import pytest
import zeep

from b2b_soap import alerts
from b2b_soap.db import session_scope
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
