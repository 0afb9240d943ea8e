"""Running one fire of a job exactly once, and the run history.

A fire is claimed by inserting its ``JobRun`` row: the row is unique on (job, fire time),
so when several workers fire the same job at the same scheduled time only one insert
succeeds and the others skip. The winner then takes the job's lock (PostgreSQL advisory
lock) so a slow run never overlaps the next fire, runs the action and records the outcome.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import socket
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import alerts, metrics
from ..db import JobRun, session_scope, utcnow
from ..errors import ValidationFailed
from .actions import check_action_args, resolve_action
from .locks import job_lock

__all__ = ["worker_name", "run_fire", "run_now", "list_runs", "run_to_dict", "parse_job_args"]

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This process as the run history names it; read per run, as ``serve --workers`` forks after import."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _claim(ctx, job: str, action: str, fire_time: datetime) -> int | None:
    """Insert the run row; None when another worker already has this fire."""
    try:
        with session_scope(ctx.sessions) as session:
            run = JobRun(job=job, action=action, fire_time=fire_time, worker=worker_name(),
                         started_at=utcnow(), outcome="running", error="")
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def _finish(ctx, run_id: int, outcome: str, counts: dict | None = None, error: str = "") -> None:
    with session_scope(ctx.sessions) as session:
        run = session.get(JobRun, run_id)
        run.outcome, run.counts, run.error, run.finished_at = outcome, counts, error, utcnow()
        metrics.count_job_run(run.job, outcome)
        if outcome == "failed":
            alerts.raise_alert(session, ctx.settings, alerts.JOB_FAILED,
                               f"{alerts.JOB_FAILED}: {run.job}",
                               f"Job {run.job} (action {run.action}) fired at {run.fire_time:%Y-%m-%d %H:%M:%S} "
                               f"UTC failed on {run.worker}.\n\n{error}")


def _abandon_stale(ctx, job: str, run_id: int) -> None:
    """Runs still 'running' while we hold the job's lock belong to a worker that died."""
    with session_scope(ctx.sessions) as session:
        session.execute(update(JobRun)
                        .where(JobRun.job == job, JobRun.outcome == "running", JobRun.id != run_id)
                        .values(outcome="abandoned", finished_at=utcnow(),
                                error="the worker stopped before the run finished"))


def _call(ctx, action: str, args: dict[str, Any], stop: threading.Event | None) -> dict:
    function = resolve_action(action)
    if stop is not None and "stop" in inspect.signature(function).parameters:
        return function(ctx, stop=stop, **args) or {}
    return function(ctx, **args) or {}


def run_fire(ctx, job: str, action: str, args: dict[str, Any], fire_time: datetime,
             stop: threading.Event | None = None) -> int | None:
    """Run one fire of ``job`` unless another worker claimed it; returns the run id or None.

    Never raises: a failure is recorded on the run (and alerted), so the scheduler carries on.
    """
    fire_time = _naive_utc(fire_time)
    run_id = _claim(ctx, job, action, fire_time)
    if run_id is None:
        log.debug("job %s fire %s already claimed by another worker", job, fire_time)
        return None
    try:
        with job_lock(ctx.engine, job) as locked:
            if not locked:
                _finish(ctx, run_id, "skipped", error="an earlier run of this job is still in progress")
                return run_id
            _abandon_stale(ctx, job, run_id)
            counts = _call(ctx, action, args, stop)
            _finish(ctx, run_id, "ok", counts)
    except Exception as exc:
        log.exception("job %s (%s) failed", job, action)
        detail = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}"
        try:
            _finish(ctx, run_id, "failed", error=detail[:8000])
        except Exception:
            log.exception("could not record the failure of job %s run %s", job, run_id)
    return run_id


def run_now(ctx, action: str, args: dict[str, Any] | None = None, job: str | None = None) -> JobRun:
    """Run an action on demand (CLI, admin service), recorded like a scheduled fire at 'now'."""
    check_action_args(action, dict(args or {}))  # refuse an unknown action or bad arguments before recording
    run_id = run_fire(ctx, job or action, action, dict(args or {}), utcnow())
    with ctx.sessions() as session:
        return session.get(JobRun, run_id)


def list_runs(session: Session, job: str | None = None, limit: int = 50) -> list[JobRun]:
    """The newest runs first, optionally of one job."""
    query = select(JobRun).order_by(JobRun.fire_time.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def run_to_dict(run: JobRun) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "action": run.action, "fire_time": run.fire_time,
            "worker": run.worker, "started_at": run.started_at, "finished_at": run.finished_at,
            "outcome": run.outcome, "counts": run.counts, "error": run.error}


def _value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text) if text.lstrip("-").replace(".", "", 1).isdigit() else text
    except ValueError:
        return text


def parse_job_args(pairs: list[str]) -> dict:
    """``["older_than_days=30"]`` -> ``{"older_than_days": 30}`` (numbers and true/false converted)."""
    args = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(f"--arg expects KEY=VALUE, not {pair!r}")
        args[key.strip()] = _value(text.strip())
    return args
