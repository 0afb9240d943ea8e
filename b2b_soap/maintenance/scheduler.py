"""The in-process APScheduler 3 scheduler that fires the maintenance jobs of the job table.

Jobs live in a ``MemoryJobStore`` (APScheduler's job stores must not be shared between
processes). Every worker runs its own scheduler and reads the job table again every
``maintenance.reload_seconds``, adding, replacing and removing its jobs to match, so a change
made by the LA reaches every worker without a restart; ``runs.run_fire`` makes each fire
run once across them, since every worker computes the same fire times (see ``triggers``).
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any, Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from ..config import JobSettings
from ..db import is_sqlite
from .actions import ACTIONS
from .locks import SchedulerFileLock, SchedulerLocked
from .runs import run_fire
from .store import import_config_jobs_once, job_settings, list_jobs
from .triggers import describe_trigger, make_trigger

__all__ = ["FireTimeExecutor", "JobReloader", "build_scheduler", "start_scheduler", "describe_jobs",
           "MISFIRE_GRACE_SECONDS", "JOBS"]

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 300
JOBS = "default"  # the job store of the table's jobs; the reload job lives in another
_INTERNAL = "internal"
CONFIG_ACTOR = "config"


class _Fire:
    """A job seen through one fire: the same job with ``fire_time`` added to its keyword arguments."""

    def __init__(self, job, fire_time: datetime):
        self._job = job
        self.kwargs = {**job.kwargs, "fire_time": fire_time}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class FireTimeExecutor(ThreadPoolExecutor):
    """A thread pool executor that hands each job its scheduled fire time.

    APScheduler 3 calls a job without the time it was due; the run row needs exactly that
    time, the same in every worker, and ``datetime.now()`` inside the job is not it.
    Jobs coalesce, so a submission carries one run time: the latest one due.
    """

    def _do_submit_job(self, job, run_times):
        super()._do_submit_job(_Fire(job, run_times[-1]), run_times[-1:])


def _fire(ctx, job: JobSettings, stop: threading.Event, fire_time: datetime | None = None) -> None:
    if fire_time is None:  # only FireTimeExecutor may run this
        raise RuntimeError("a maintenance job needs FireTimeExecutor to know its fire time")
    run_fire(ctx, job.name, job.action, dict(job.args), fire_time, stop)


class JobReloader:
    """Keeps one scheduler's jobs equal to the active (not paused, not removed) rows of the table."""

    def __init__(self, ctx, scheduler: BackgroundScheduler, stop: threading.Event):
        self.ctx, self.scheduler, self.stop = ctx, scheduler, stop
        self.seen: dict[str, JobSettings] = {}

    def reload(self) -> None:
        with self.ctx.sessions() as session:
            wanted = {row.name: job_settings(row) for row in list_jobs(session) if not row.paused}
        for name in [n for n in self.seen if n not in wanted]:
            del self.seen[name]
            self._unschedule(name)
            log.info("maintenance job %s unscheduled", name)
        for name, job in wanted.items():
            if self.seen.get(name) != job:
                self.seen[name] = job
                self._schedule(job)

    def _unschedule(self, name: str) -> None:
        if self.scheduler.get_job(name, jobstore=JOBS) is not None:
            self.scheduler.remove_job(name, jobstore=JOBS)

    def _schedule(self, job: JobSettings) -> None:
        if job.action not in ACTIONS:  # a row written by another version of b2b-soap
            log.warning("maintenance job %s not scheduled: this version has no action %r", job.name, job.action)
            self._unschedule(job.name)
            return
        self.scheduler.add_job(_fire, make_trigger(job), args=(self.ctx, job, self.stop), id=job.name,
                               name=job.name, jobstore=JOBS, replace_existing=True)
        log.info("maintenance job %s scheduled: %s %s", job.name, job.action, describe_trigger(job))


def build_scheduler(ctx, stop: threading.Event | None = None) -> BackgroundScheduler:
    """A scheduler (not started) holding the table's active jobs, and the job that reloads them."""
    scheduler = BackgroundScheduler(
        jobstores={JOBS: MemoryJobStore(), _INTERNAL: MemoryJobStore()},
        executors={"default": FireTimeExecutor(max_workers=4), _INTERNAL: ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    reloader = JobReloader(ctx, scheduler, stop or threading.Event())
    reloader.reload()
    scheduler.add_job(reloader.reload, IntervalTrigger(seconds=ctx.settings.maintenance.reload_seconds),
                      id="reload", name="reload maintenance jobs", jobstore=_INTERNAL, executor=_INTERNAL)
    return scheduler


def start_scheduler(ctx, strict: bool = False) -> Callable[[], None]:
    """Start the maintenance scheduler for ``serve``; returns a stopper that waits for running jobs.

    First adds the configuration file's ``[[maintenance.jobs]]`` the table does not hold yet.
    On SQLite only one scheduler may run per database: a second one logs why and does not
    start (``strict``: raises ``SchedulerLocked`` instead).
    """
    if not ctx.settings.maintenance.enabled:
        return lambda: None
    file_lock = None
    if is_sqlite(ctx.engine):
        file_lock = SchedulerFileLock(ctx.settings.database_url, ctx.settings.data_path)
        try:
            file_lock.acquire()
        except SchedulerLocked as exc:
            if strict:
                raise
            log.error("%s", exc)
            return lambda: None
    import_config_jobs_once(ctx.sessions, CONFIG_ACTOR, ctx.settings)
    stop = threading.Event()
    scheduler = build_scheduler(ctx, stop)
    scheduler.start()
    log.info("maintenance scheduler started with %d job(s)", len(scheduler.get_jobs(jobstore=JOBS)))

    def stopper() -> None:
        stop.set()  # batch actions finish their current batch and return
        scheduler.shutdown(wait=True)
        if file_lock is not None:
            file_lock.release()

    return stopper


def describe_jobs(ctx, session: Session | None = None) -> list[dict[str, Any]]:
    """The stored jobs with their trigger, state and next fire time (what ``jobs list`` shows).

    ``session``: read in the caller's transaction (to show a change it has not committed yet).
    """
    if session is None:
        with ctx.sessions() as own:
            return describe_jobs(ctx, own)
    now = datetime.now(UTC).astimezone()
    rows = []
    for row in list_jobs(session):
        job = job_settings(row)
        available = job.action in ACTIONS
        next_fire = make_trigger(job).get_next_fire_time(None, now) if available and not row.paused else None
        rows.append({"name": job.name, "action": job.action, "trigger": describe_trigger(job), "cron": job.cron,
                     "seconds": job.seconds, "args": job.args, "paused": row.paused, "available": available,
                     "next_fire": next_fire.astimezone().replace(tzinfo=None) if next_fire else None,
                     "modified_by": row.modified_by, "modified_at": row.modified_at})
    return rows
