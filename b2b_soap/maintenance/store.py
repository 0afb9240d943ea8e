"""The maintenance job table: what the schedulers run, changed by the LA at run time.

Every change is validated (known action, a trigger APScheduler accepts, arguments the
action takes) and audited with the state before and after. Each worker's scheduler reads
the table again every ``maintenance.reload_seconds`` (see ``scheduler``), so nothing needs
a restart.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..config import JobSettings, Settings
from ..db import MaintenanceJob, session_scope, utcnow
from ..errors import NotFound, ValidationFailed
from ..security import audit
from .actions import check_action_args
from .defaults import DEFAULT_JOBS
from .locks import hold_for_transaction
from .triggers import make_trigger

CONFIG_IMPORT = "import of the configured jobs"

__all__ = ["job_settings", "list_jobs", "get_job", "add_job", "change_job", "set_paused", "remove_job",
           "seed_default_jobs", "import_config_jobs", "import_config_jobs_once", "job_state"]

log = logging.getLogger(__name__)


def job_settings(row: MaintenanceJob) -> JobSettings:
    """The definition a scheduler runs; compared with ``==`` to see whether a job changed."""
    return JobSettings(name=row.name, action=row.action, trigger=row.trigger, cron=row.cron,
                       seconds=row.seconds, args=dict(row.args or {}))


def job_state(row: MaintenanceJob) -> dict[str, Any]:
    """What the audit log keeps of a job before and after a change."""
    return {"action": row.action, "trigger": row.trigger, "cron": row.cron, "seconds": row.seconds,
            "args": dict(row.args or {}), "paused": row.paused, "removed": row.removed}


def _check(job: JobSettings) -> None:
    if not job.name.strip() or len(job.name) > 100:
        raise ValidationFailed("a job needs a name of 1 to 100 characters")
    check_action_args(job.action, job.args)
    if job.trigger == "interval" and job.seconds <= 0:
        raise ValidationFailed(f"job {job.name}: an interval needs seconds > 0, not {job.seconds}")
    try:
        make_trigger(job)
    except ValueError as exc:
        raise ValidationFailed(f"job {job.name}: cron {job.cron!r} is not valid: {exc}") from None


def _definition(name: str, action: str, cron: str | None, seconds: int | None,
                args: dict[str, Any] | None) -> JobSettings:
    if bool(cron) == bool(seconds):
        raise ValidationFailed(f"job {name}: give either a cron expression or an interval in seconds")
    return JobSettings(name=name.strip(), action=action, trigger="cron" if cron else "interval",
                       cron=cron or "", seconds=int(seconds or 0), args=dict(args or {}))


def list_jobs(session: Session) -> list[MaintenanceJob]:
    return list(session.scalars(select(MaintenanceJob).where(MaintenanceJob.removed.is_(False))
                                .order_by(MaintenanceJob.name)))


def get_job(session: Session, name: str) -> MaintenanceJob:
    row = session.scalar(select(MaintenanceJob).where(MaintenanceJob.name == name,
                                                      MaintenanceJob.removed.is_(False)))
    if row is None:
        raise NotFound(f"no maintenance job called {name!r}; `b2b-soap jobs list` shows them")
    return row


def _store(session: Session, actor: str, job: JobSettings, origin: str, paused: bool = False) -> MaintenanceJob:
    _check(job)
    row = session.scalar(select(MaintenanceJob).where(MaintenanceJob.name == job.name))
    if row is not None and not row.removed:
        raise ValidationFailed(f"a maintenance job called {job.name!r} exists; change it with `jobs set`")
    before = job_state(row) if row is not None else None
    if row is None:
        row = MaintenanceJob(name=job.name)
        session.add(row)
    row.action, row.trigger, row.cron, row.seconds, row.args = job.action, job.trigger, job.cron, job.seconds, job.args
    row.paused, row.removed, row.origin = paused, False, origin
    row.modified_at, row.modified_by = utcnow(), actor
    session.flush()
    audit(session, actor, "job.add", "maintenance_job", job.name, before=before, after=job_state(row))
    return row


def add_job(session: Session, actor: str, name: str, action: str, *, cron: str | None = None,
            seconds: int | None = None, args: dict[str, Any] | None = None, paused: bool = False) -> MaintenanceJob:
    """Add a job with a cron expression (crontab, 5 fields) or an interval in seconds."""
    return _store(session, actor, _definition(name, action, cron, seconds, args), "la", paused)


def change_job(session: Session, actor: str, name: str, *, action: str | None = None, cron: str | None = None,
               seconds: int | None = None, args: dict[str, Any] | None = None) -> MaintenanceJob:
    """Change what a job does or when: a cron makes it a cron job, seconds an interval job;
    ``args`` replaces all its arguments."""
    row = get_job(session, name)
    current = job_settings(row)
    if cron and seconds:
        raise ValidationFailed(f"job {name}: give either a cron expression or an interval in seconds")
    changed = dataclasses.replace(current, action=action or current.action,
                                  args=current.args if args is None else dict(args))
    if cron:
        changed = dataclasses.replace(changed, trigger="cron", cron=cron, seconds=0)
    elif seconds:
        changed = dataclasses.replace(changed, trigger="interval", cron="", seconds=int(seconds))
    _check(changed)
    before = job_state(row)
    row.action, row.trigger, row.cron, row.seconds, row.args = (changed.action, changed.trigger, changed.cron,
                                                                changed.seconds, changed.args)
    row.modified_at, row.modified_by = utcnow(), actor
    audit(session, actor, "job.change", "maintenance_job", name, before=before, after=job_state(row))
    return row


def _mark(session: Session, actor: str, name: str, what: str, **values: bool) -> MaintenanceJob:
    row = get_job(session, name)
    before = job_state(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.modified_at, row.modified_by = utcnow(), actor
    audit(session, actor, f"job.{what}", "maintenance_job", name, before=before, after=job_state(row))
    return row


def set_paused(session: Session, actor: str, name: str, paused: bool) -> MaintenanceJob:
    """Pause (no fires until resumed) or resume a job."""
    return _mark(session, actor, name, "pause" if paused else "resume", paused=paused)


def remove_job(session: Session, actor: str, name: str) -> MaintenanceJob:
    """Remove a job; its run history stays, and a default job is not seeded again."""
    return _mark(session, actor, name, "remove", removed=True)


def _stored(session: Session) -> dict[str, MaintenanceJob]:
    return {row.name: row for row in session.scalars(select(MaintenanceJob))}


def seed_default_jobs(session: Session, actor: str) -> int:
    """Add each default job whose name was never used; the count added."""
    stored = _stored(session)
    missing = [job for job in DEFAULT_JOBS if job.name not in stored]
    for job in missing:
        _store(session, actor, job, "default")
    return len(missing)


def import_config_jobs(session: Session, actor: str, settings: Settings) -> int:
    """Add the ``[[maintenance.jobs]]`` of the configuration file never stored; the count added.

    The table is the truth afterwards: a block that differs from the stored job only logs a
    warning (a change the LA made with ``jobs set`` is not undone by a restart), and a job the
    LA removed is not brought back.
    """
    stored = _stored(session)
    for job in settings.jobs:
        row = stored.get(job.name)
        if row is None:
            _store(session, actor, job, "config")
        elif not row.removed and job_settings(row) != job:
            log.warning("maintenance job %s in the configuration file differs from the stored job, which is "
                        "used; change it with `b2b-soap jobs set %s`", job.name, job.name)
    return sum(1 for job in settings.jobs if job.name not in stored)


def import_config_jobs_once(sessions: sessionmaker[Session], actor: str, settings: Settings) -> None:
    """``import_config_jobs`` in its own transaction, one worker at a time.

    Workers starting together take turns, so the second reads the jobs the first stored and
    adds nothing (without the turns it would find them only when inserting, and refuse to start).
    """
    with session_scope(sessions) as session:
        hold_for_transaction(session, CONFIG_IMPORT)
        import_config_jobs(session, actor, settings)
