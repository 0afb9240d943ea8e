"""The default maintenance schedule that ``init`` and ``demo`` seed into the job table.

One declarative list: add a job here and the next ``init`` seeds it on every installation
that has no job of that name (one the LA removed stays removed).
"""
from __future__ import annotations

from ..config import JobSettings

__all__ = ["DEFAULT_JOBS"]

DEFAULT_JOBS: tuple[JobSettings, ...] = (
    JobSettings(name="clear-conflicts", action="clear_conflicts", trigger="cron", cron="30 1 * * *"),
    # no argument: the retention is the system default FILE_RETENTION_DAYS, read at each run
    JobSettings(name="delete-files", action="delete_files", trigger="cron", cron="0 2 * * *"),
    # Entries younger than a year stay: they keep an unchanged value from raising its conflict again.
    JobSettings(name="clear-cache", action="clear_cache", trigger="cron", cron="0 3 * * *",
                args={"older_than_days": 365}),
    JobSettings(name="attainment-import", action="attainment_import", trigger="interval", seconds=900),
    JobSettings(name="unmatched-waiting", action="unmatched_waiting", trigger="cron", cron="0 7 * * *"),
)
