"""Database backup and restore.

SQLite uses the online backup API: one step copies a consistent snapshot while the server
keeps writing (in WAL mode readers never block writers). PostgreSQL wraps ``pg_dump -Fc``
and ``pg_restore --clean --if-exists``; credentials go through the environment, never the
command line. The storage key is never part of a backup: it is backed up separately, so a
stolen database backup reveals no file contents.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text

from ..config import Settings
from ..db import is_sqlite, make_engine
from ..db.engine import alembic_config
from ..errors import ValidationFailed

__all__ = ["BackupResult", "backup_database", "restore_database", "head_revision", "key_reminder"]

# Tables every b2b-soap database has; a file without them is not ours.
_MARKER_TABLES = ("alembic_version", "persons", "virtual_files", "audit_log")


@dataclass(frozen=True)
class BackupResult:
    path: str
    kind: str  # sqlite | pg_dump
    revision: str
    bytes: int


def head_revision() -> str:
    """The migration revision this code expects (alembic head)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def key_reminder(settings: Settings) -> str:
    return (f"The storage key ({settings.key_path}) is NOT in this backup. Back it up separately "
            "and keep it apart from database backups: without it no file content can be read.")


def backup_database(settings: Settings, dest: str | os.PathLike[str]) -> BackupResult:
    """Write a consistent backup of the configured database to ``dest`` (refuses to overwrite)."""
    target = Path(dest)
    if target.exists():
        raise ValidationFailed(f"{target} already exists; choose a new backup file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(settings.database_url):
        return _sqlite_backup(_sqlite_path(settings), target)
    return _pg_backup(settings.database_url, target)


def restore_database(settings: Settings, src: str | os.PathLike[str], force: bool = False) -> BackupResult:
    """Replace the configured database by the backup ``src`` after checking it is ours and current.

    Raises:
        ValidationFailed: not a b2b-soap backup, another migration revision, or the target is in
            use (unless ``force``).
    """
    source = Path(src)
    if not source.is_file():
        raise ValidationFailed(f"{source} is not a file")
    if is_sqlite(settings.database_url):
        return _sqlite_restore(source, _sqlite_path(settings), force)
    return _pg_restore(source, settings.database_url, force)


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise ValidationFailed("an in-memory database cannot be backed up or restored")
    return Path(database)


def _check_revision(revision: str | None, what: str) -> str:
    expected = head_revision()
    if revision != expected:
        raise ValidationFailed(f"{what} is at migration {revision!r}, this version expects {expected!r}; "
                               "restore it with the matching b2b-soap version, then run 'b2b-soap db upgrade'")
    return revision


def _sqlite_verify(path: Path) -> str:
    """The migration revision of a SQLite file, after checking it is an intact b2b-soap database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ValidationFailed(f"{path} cannot be opened as SQLite: {exc}") from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in _MARKER_TABLES if t not in tables]
        if missing:
            raise ValidationFailed(f"{path} is not a b2b-soap database (no {', '.join(missing)})")
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise ValidationFailed(f"{path} fails SQLite's integrity check")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(f"{path} is not a SQLite database: {exc}") from None
    finally:
        conn.close()
    return _check_revision(row[0] if row else None, str(path))


def _sqlite_backup(source: Path, target: Path) -> BackupResult:
    if not source.exists():
        raise ValidationFailed(f"no database at {source}")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: one step, one read snapshot, writers carry on (WAL)
        dst.execute("PRAGMA journal_mode=DELETE")  # a backup is a single self-contained file
    finally:
        dst.close()
        src.close()
    try:
        revision = _sqlite_verify(partial)
    except ValidationFailed:
        partial.unlink(missing_ok=True)
        raise
    partial.chmod(0o600)
    partial.replace(target)
    return BackupResult(str(target), "sqlite", revision, target.stat().st_size)


def _sqlite_in_use(path: Path) -> bool:
    """True when another connection has the database open.

    Leaving WAL mode needs the only connection; SQLite refuses it while another process
    (a server's connection pool) has the file open.
    """
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            return False
        try:
            changed = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            return True
        if changed != "delete":
            return True
        conn.execute("PRAGMA journal_mode=WAL")
        return False
    finally:
        conn.close()


def _sqlite_restore(source: Path, target: Path, force: bool) -> BackupResult:
    revision = _sqlite_verify(source)
    if not force and _sqlite_in_use(target):
        raise ValidationFailed(f"{target} is in use (a server is running?); stop it or use --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # through SQLite's own locking, so a forced restore never tears pages
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    return BackupResult(str(target), "sqlite", revision, target.stat().st_size)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries the password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ValidationFailed(f"{name} is not on PATH; install the PostgreSQL client of the server's version")
    return path


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValidationFailed(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done


def _pg_revision(url: str) -> str | None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def _pg_backup(url: str, target: Path) -> BackupResult:
    revision = _check_revision(_pg_revision(url), "the database")
    uri, env = _libpq(url)
    partial = target.with_name(target.name + ".partial")
    try:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={uri}"], env)
    except ValidationFailed:
        partial.unlink(missing_ok=True)
        raise
    partial.chmod(0o600)
    partial.replace(target)
    return BackupResult(str(target), "pg_dump", revision, target.stat().st_size)


def _dump_revision(source: Path) -> str | None:
    """The alembic revision inside a ``pg_dump -Fc`` archive, read without restoring it."""
    listing = _run([_tool("pg_restore"), "--list", str(source)], dict(os.environ)).stdout
    missing = [t for t in _MARKER_TABLES if not re.search(rf"TABLE DATA \S+ {t} ", listing)]
    if missing:
        raise ValidationFailed(f"{source} is not a b2b-soap backup (no {', '.join(missing)})")
    data = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(source)],
                dict(os.environ)).stdout
    match = re.search(r"^COPY \S*alembic_version .*?;\n(.+?)\n\\\.", data, re.M | re.S)
    return match.group(1).strip() if match else None


def _pg_other_sessions(url: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        engine.dispose()


def _pg_restore(source: Path, url: str, force: bool) -> BackupResult:
    revision = _check_revision(_dump_revision(source), str(source))
    if not force and _pg_other_sessions(url):
        raise ValidationFailed("the database has other sessions (a server is running?); stop it or use --force")
    uri, env = _libpq(url)
    # Objects end up owned by the restoring (owner) role; grants to the app role come back as dumped.
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--exit-on-error", f"--dbname={uri}", str(source)], env)
    return BackupResult(str(source), "pg_dump", revision, source.stat().st_size)
