"""Admin operations for maintenance: RunJob, ListJobRuns, ListAlerts."""
from __future__ import annotations

import json

from spyne import Array, Int, Long, Unicode

from ... import alerts, maintenance
from ...security import ADMINISTRATION, REPORTS
from ..types import StringArray, UtcDateTime, _Model
from .base import AdminCall, AdminService, admin_operation

__all__ = ["JobsAdmin", "SERVICE", "JobRunInfo", "AlertInfo"]


class JobRunInfo(_Model):
    RunId = Long
    Job = Unicode
    Action = Unicode
    FireTimeUtc = UtcDateTime
    Worker = Unicode
    StartedUtc = UtcDateTime
    FinishedUtc = UtcDateTime
    Outcome = Unicode
    Counts = Unicode  # JSON object
    Error = Unicode


class AlertInfo(_Model):
    AlertId = Long
    Trigger = Unicode
    Subject = Unicode
    Status = Unicode
    Recipients = StringArray
    Attempts = Int
    LastError = Unicode
    CreatedUtc = UtcDateTime
    SentUtc = UtcDateTime


def _run_out(run) -> JobRunInfo:
    return JobRunInfo(RunId=run.id, Job=run.job, Action=run.action, FireTimeUtc=run.fire_time, Worker=run.worker,
                      StartedUtc=run.started_at, FinishedUtc=run.finished_at, Outcome=run.outcome,
                      Counts=json.dumps(run.counts) if run.counts is not None else None, Error=run.error or None)


ArrayOfJobRunInfo = Array(JobRunInfo, type_name="ArrayOfJobRunInfo")
ArrayOfAlertInfo = Array(AlertInfo, type_name="ArrayOfAlertInfo")


class JobsAdmin(AdminService):
    @admin_operation(ADMINISTRATION, Unicode, StringArray, write=True, _returns=JobRunInfo)
    def RunJob(call: AdminCall, action, args):
        """Run a maintenance action now (``args``: ``key=value`` strings); returns the recorded run."""
        return _run_out(maintenance.run_now(call.ctx, action or "", maintenance.parse_job_args(list(args or []))))

    @admin_operation(REPORTS, Unicode, Int, _returns=ArrayOfJobRunInfo)
    def ListJobRuns(call: AdminCall, job, limit):
        return [_run_out(r) for r in maintenance.list_runs(call.session, job or None, min(limit or 50, 1000))]

    @admin_operation(ADMINISTRATION, Unicode, Unicode, Int, _returns=ArrayOfAlertInfo)
    def ListAlerts(call: AdminCall, status, trigger, limit):
        return [AlertInfo(AlertId=a.id, Trigger=a.trigger, Subject=a.subject, Status=a.status,
                          Recipients=[r for r in a.recipients.split(",") if r], Attempts=a.attempts,
                          LastError=a.last_error or None, CreatedUtc=a.created_at, SentUtc=a.sent_at)
                for a in alerts.list_alerts(call.session, status or None, trigger or None, min(limit or 100, 1000))]


SERVICE = JobsAdmin
