"""Admin operations for maintenance: the scheduled jobs (ListJobs, AddJob, ChangeJob, PauseJob,
ResumeJob, RemoveJob), RunJob, ListJobRuns, ListAlerts."""
from __future__ import annotations

import json
from datetime import UTC

from spyne import Array, Boolean, Int, Long, Unicode

from ... import alerts, maintenance
from ...security import ADMINISTRATION, REPORTS
from ..types import StringArray, UtcDateTime, _Model
from .base import AdminCall, AdminService, admin_operation

__all__ = ["JobsAdmin", "SERVICE", "JobInfo", "JobRunInfo", "AlertInfo"]


class JobInfo(_Model):
    Name = Unicode
    Action = Unicode
    Cron = Unicode  # crontab expression of a cron job (absent for an interval job)
    Seconds = Int  # interval of an interval job (0 for a cron job)
    Args = StringArray  # key=value
    Paused = Boolean
    Available = Boolean  # the action is installed here
    NextFireUtc = UtcDateTime
    ModifiedBy = Unicode
    ModifiedUtc = UtcDateTime


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


def _job_out(job: dict) -> JobInfo:
    next_fire = job["next_fire"]
    return JobInfo(Name=job["name"], Action=job["action"], Cron=job["cron"] or None, Seconds=job["seconds"],
                   Args=[f"{k}={v}" for k, v in job["args"].items()], Paused=job["paused"],
                   Available=job["available"], ModifiedBy=job["modified_by"], ModifiedUtc=job["modified_at"],
                   NextFireUtc=next_fire.astimezone(UTC).replace(tzinfo=None) if next_fire else None)


def _job(call: AdminCall, name: str) -> JobInfo:
    call.session.flush()
    return next(_job_out(j) for j in maintenance.describe_jobs(call.ctx, call.session) if j["name"] == name)


def _args(args) -> dict | None:
    return None if args is None else maintenance.parse_job_args(list(args))


ArrayOfJobInfo = Array(JobInfo, type_name="ArrayOfJobInfo")
ArrayOfJobRunInfo = Array(JobRunInfo, type_name="ArrayOfJobRunInfo")
ArrayOfAlertInfo = Array(AlertInfo, type_name="ArrayOfAlertInfo")


class JobsAdmin(AdminService):
    @admin_operation(REPORTS, _returns=ArrayOfJobInfo)
    def ListJobs(call: AdminCall):
        """The scheduled maintenance jobs, paused ones included, with their next fire time."""
        return [_job_out(j) for j in maintenance.describe_jobs(call.ctx, call.session)]

    @admin_operation(ADMINISTRATION, Unicode, Unicode, Unicode, Int, StringArray, Boolean, write=True,
                     _returns=JobInfo)
    def AddJob(call: AdminCall, name, action, cron, seconds, args, paused):
        """Add a job with either ``cron`` (crontab, 5 fields) or ``seconds``; every worker fires it
        within ``maintenance.reload_seconds``."""
        maintenance.add_job(call.session, call.actor, name or "", action or "", cron=cron, seconds=seconds,
                            args=_args(args), paused=bool(paused))
        return _job(call, name)

    @admin_operation(ADMINISTRATION, Unicode, Unicode, Unicode, Int, StringArray, write=True, _returns=JobInfo)
    def ChangeJob(call: AdminCall, name, action, cron, seconds, args):
        """Change a job: each given value replaces the current one (``args`` replaces every argument)."""
        maintenance.change_job(call.session, call.actor, name or "", action=action, cron=cron, seconds=seconds,
                               args=_args(args))
        return _job(call, name)

    @admin_operation(ADMINISTRATION, Unicode, write=True, _returns=JobInfo)
    def PauseJob(call: AdminCall, name):
        maintenance.set_paused(call.session, call.actor, name or "", True)
        return _job(call, name)

    @admin_operation(ADMINISTRATION, Unicode, write=True, _returns=JobInfo)
    def ResumeJob(call: AdminCall, name):
        maintenance.set_paused(call.session, call.actor, name or "", False)
        return _job(call, name)

    @admin_operation(ADMINISTRATION, Unicode, write=True, _returns=Boolean)
    def RemoveJob(call: AdminCall, name):
        """Remove a job; its run history stays."""
        maintenance.remove_job(call.session, call.actor, name or "")
        return True

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
