"""Locks that keep a maintenance job from running twice at once.

PostgreSQL: a session-level advisory lock per job, held on a dedicated autocommit
connection for the length of the run. PostgreSQL releases it when that connection ends,
so a killed worker never leaves a job locked. SQLite: only one scheduler per database,
enforced with ``flock`` on a lock file beside the database file.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from ..db import is_sqlite

__all__ = ["SchedulerLocked", "job_lock_key", "job_lock", "hold_for_transaction", "SchedulerFileLock"]


class SchedulerLocked(RuntimeError):
    """Another scheduler already runs against this SQLite database."""


def job_lock_key(job: str) -> int:
    """A stable signed 64-bit advisory lock key for a job name (same in every process)."""
    digest = hashlib.sha256(f"b2b-soap:job:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """Yield True when this process holds the job's lock, False when another run holds it.

    On SQLite the single-scheduler file lock already rules out a second runner: always True.
    """
    if is_sqlite(engine):
        yield True
        return
    key = job_lock_key(job)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        acquired = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute(select(func.pg_advisory_unlock(key)))


def hold_for_transaction(session: Session, name: str) -> None:
    """Wait for, then hold until the session's transaction ends, the lock called ``name``.

    PostgreSQL only (a transaction-level advisory lock); SQLite runs one scheduler per database.
    """
    if not is_sqlite(session.get_bind()):
        session.execute(select(func.pg_advisory_xact_lock(job_lock_key(name))))


def _lock_path(url: str, data_dir: Path) -> Path:
    database = make_url(url).database
    if database and database != ":memory:":
        return Path(f"{database}.scheduler.lock")
    return data_dir / "scheduler.lock"


class SchedulerFileLock:
    """The one-scheduler-per-SQLite-database rule, as an exclusive ``flock``."""

    def __init__(self, url: str, data_dir: Path):
        self.path = _lock_path(url, data_dir)
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SchedulerLocked(
                f"another b2b-soap scheduler (pid {holder}) already runs maintenance jobs on this SQLite "
                f"database (lock file {self.path}); this process does not start one. With SQLite run one "
                "server process, or use PostgreSQL for several workers") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
