"""APScheduler 3 triggers for a job definition, the same fire times in every worker.

Cron triggers agree across workers by nature; interval triggers are anchored to a fixed
epoch instead of "now", so a worker that starts later still fires at the same times.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..config import JobSettings

__all__ = ["INTERVAL_EPOCH", "make_trigger", "describe_trigger"]

INTERVAL_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _crontab(expr: str) -> str:
    """Crontab numbers Sunday 0 (or 7); APScheduler 3 numbers Monday 0. Use names to mean crontab's."""
    fields = expr.split()
    fields[4] = re.sub(r"\d+", lambda m: _CRON_DAYS[int(m.group())] if int(m.group()) <= 7 else m.group(),
                       fields[4])
    return " ".join(fields)


def make_trigger(job: JobSettings) -> BaseTrigger:
    """The trigger of a job; ValueError for a cron expression APScheduler does not accept."""
    if job.trigger == "interval":
        return IntervalTrigger(seconds=job.seconds, start_date=INTERVAL_EPOCH, timezone=UTC)
    if len(job.cron.split()) != 5:
        raise ValueError(f"expected 5 crontab fields (minute hour day month weekday), got {job.cron!r}")
    return CronTrigger.from_crontab(_crontab(job.cron))


def describe_trigger(job: JobSettings) -> str:
    return job.cron if job.trigger == "cron" else f"every {job.seconds}s"
