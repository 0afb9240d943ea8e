"""The in-process APScheduler 3 scheduler that fires the configured maintenance jobs.

Jobs live in a ``MemoryJobStore`` and are rebuilt from ``[[maintenance.jobs]]`` at start-up
(APScheduler's job stores must not be shared between processes). Every worker runs its own
scheduler; ``runs.run_fire`` makes each fire run once across them. That needs every worker
to compute the same fire times: cron triggers do by nature, interval triggers are anchored
to a fixed epoch instead of "now".
"""
from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any, Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..config import JobSettings
from ..db import is_sqlite
from ..errors import NotFound
from .actions import resolve_action
from .locks import SchedulerFileLock, SchedulerLocked
from .runs import run_fire

__all__ = ["FireTimeExecutor", "make_trigger", "build_scheduler", "start_scheduler", "describe_jobs",
           "INTERVAL_EPOCH", "MISFIRE_GRACE_SECONDS"]

log = logging.getLogger(__name__)

INTERVAL_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
MISFIRE_GRACE_SECONDS = 300
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


def _crontab(expr: str) -> str:
    """Crontab numbers Sunday 0 (or 7); APScheduler 3 numbers Monday 0. Use names to mean crontab's."""
    fields = expr.split()
    fields[4] = re.sub(r"\d+", lambda m: _CRON_DAYS[int(m.group())] if int(m.group()) <= 7 else m.group(),
                       fields[4])
    return " ".join(fields)


def make_trigger(job: JobSettings):
    if job.trigger == "interval":
        return IntervalTrigger(seconds=job.seconds, start_date=INTERVAL_EPOCH, timezone=UTC)
    return CronTrigger.from_crontab(_crontab(job.cron))


def _fire(ctx, job: JobSettings, stop: threading.Event, fire_time: datetime | None = None) -> None:
    if fire_time is None:  # only FireTimeExecutor may run this
        raise RuntimeError("a maintenance job needs FireTimeExecutor to know its fire time")
    run_fire(ctx, job.name, job.action, dict(job.args), fire_time, stop)


def build_scheduler(ctx, stop: threading.Event | None = None) -> BackgroundScheduler:
    """A scheduler (not started) with one job per configured job whose action is available."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": FireTimeExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    stop = stop or threading.Event()
    for job in ctx.settings.jobs:
        try:
            resolve_action(job.action)
        except NotFound as exc:
            log.warning("maintenance job %s not scheduled: %s", job.name, exc.message)
            continue
        scheduler.add_job(_fire, make_trigger(job), args=(ctx, job, stop), id=job.name, name=job.name)
    return scheduler


def start_scheduler(ctx, strict: bool = False) -> Callable[[], None]:
    """Start the maintenance scheduler for ``serve``; returns a stopper that waits for running jobs.

    On SQLite only one scheduler may run per database: a second one logs why and does not
    start (``strict``: raises ``SchedulerLocked`` instead).
    """
    if not ctx.settings.maintenance.enabled or not ctx.settings.jobs:
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
    stop = threading.Event()
    scheduler = build_scheduler(ctx, stop)
    scheduler.start()
    log.info("maintenance scheduler started with %d job(s)", len(scheduler.get_jobs()))

    def stopper() -> None:
        stop.set()  # batch actions finish their current batch and return
        scheduler.shutdown(wait=True)
        if file_lock is not None:
            file_lock.release()

    return stopper


def describe_jobs(ctx) -> list[dict[str, Any]]:
    """The configured jobs with their trigger and next fire time (what ``jobs list`` shows)."""
    now = datetime.now(UTC).astimezone()
    rows = []
    for job in ctx.settings.jobs:
        try:
            resolve_action(job.action)
            available = True
        except NotFound:
            available = False
        trigger = make_trigger(job)
        next_fire = trigger.get_next_fire_time(None, now) if available else None
        rows.append({"name": job.name, "action": job.action,
                     "trigger": job.cron if job.trigger == "cron" else f"every {job.seconds}s",
                     "args": job.args, "available": available,
                     "next_fire": next_fire.astimezone().replace(tzinfo=None) if next_fire else None})
    return rows
