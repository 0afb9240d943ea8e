"""Backups and restores: SQLite online backup while writing, pg_dump/pg_restore on throwaway databases."""
from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading
import uuid

import pytest
from sqlalchemy import create_engine, make_url, select, text

from b2b_soap.config import settings_from_dict
from b2b_soap.db import AuditEntry, Base, is_sqlite, make_engine, make_sessionmaker, session_scope
from b2b_soap.errors import ValidationFailed
from b2b_soap.operations.backup import backup_database, head_revision, key_reminder, restore_database

from conftest import require_or_skip


def _add_base(settings, laestab: str) -> None:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            session.add(Base(laestab=laestab, name=f"School {laestab}", b2b_enabled=True))
    finally:
        engine.dispose()


def _laestabs(settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(Base.laestab).order_by(Base.laestab)))
    finally:
        engine.dispose()


def _require_pg_tools(settings) -> None:
    if not is_sqlite(settings.database_url):
        require_or_skip(bool(shutil.which("pg_dump") and shutil.which("pg_restore")), "pg_dump/pg_restore")


@pytest.fixture
def sqlite_settings(tmp_path, _sqlite_template):
    """Settings on a migrated SQLite file only (for SQLite-specific behaviour)."""
    shutil.copy(_sqlite_template, tmp_path / "b2b.db")
    return settings_from_dict({"data_dir": str(tmp_path / "data"),
                               "database": {"url": f"sqlite:///{tmp_path / 'b2b.db'}"}}, environ={})


@pytest.fixture
def other_database(settings, tmp_path):
    """A second, empty database of the same kind to restore into."""
    if is_sqlite(settings.database_url):
        yield dataclasses.replace(settings, database=dataclasses.replace(
            settings.database, url=f"sqlite:///{tmp_path / 'restored.db'}"))
        return
    admin = create_engine(make_url(settings.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"b2b_r_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
    yield dataclasses.replace(settings, database=dataclasses.replace(settings.database, url=url))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_and_restore_round_trip(settings, other_database, tmp_path):
    _require_pg_tools(settings)
    _add_base(settings, "9991001")
    dump = tmp_path / "backup.bin"
    result = backup_database(settings, dump)
    assert result.revision == head_revision() and dump.stat().st_mode & 0o077 == 0
    assert not dump.with_name(dump.name + ".partial").exists()

    _add_base(settings, "9991002")  # a change after the backup ...
    restore_database(settings, dump)  # ... is undone by restoring over the live database
    assert _laestabs(settings) == ["9991001"]

    restore_database(other_database, dump)  # and a fresh, empty database can be restored into
    assert _laestabs(other_database) == ["9991001"]


def test_backup_never_contains_the_key_and_refuses_to_overwrite(ctx, tmp_path):
    _require_pg_tools(ctx.settings)
    dump = tmp_path / "b.bin"
    backup_database(ctx.settings, dump)
    key_line = ctx.settings.key_path.read_text().splitlines()[-1].split(":")[1]
    assert key_line.encode() not in dump.read_bytes()
    assert str(ctx.settings.key_path) in key_reminder(ctx.settings)
    with pytest.raises(ValidationFailed, match="already exists"):
        backup_database(ctx.settings, dump)


def test_sqlite_backup_is_consistent_while_a_writer_inserts(sqlite_settings, tmp_path):
    settings = sqlite_settings
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    stop, batches = threading.Event(), []

    def writer():
        while not stop.is_set():  # each transaction adds 5 rows of one batch: all or none are visible
            batch = uuid.uuid4().hex
            with session_scope(sessions) as session:
                session.add_all(AuditEntry(actor="writer", action="test", detail=batch) for _ in range(5))
            batches.append(batch)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(batches) < 20:
            stop.wait(0.01)
        backups = [backup_database(settings, tmp_path / f"live{i}.db") for i in range(3)]
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    for result in backups:
        conn = sqlite3.connect(result.path)
        sizes = conn.execute("SELECT detail, count(*) FROM audit_log GROUP BY detail").fetchall()
        conn.close()
        assert sizes and all(n == 5 for _, n in sizes)
        assert len(sizes) >= 20


def test_sqlite_restore_refuses_while_in_use_unless_forced(sqlite_settings, tmp_path):
    settings = sqlite_settings
    _add_base(settings, "9991001")
    dump = tmp_path / "b.db"
    backup_database(settings, dump)
    _add_base(settings, "9991002")
    engine = make_engine(settings.database_url)  # a "server" holding a connection
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(ValidationFailed, match="in use"):
                restore_database(settings, dump)
            restore_database(settings, dump, force=True)
            assert list(conn.scalars(select(Base.laestab))) == ["9991001"]
    finally:
        engine.dispose()
    restore_database(settings, dump)  # no connection left: allowed


def test_restore_refuses_what_is_not_a_current_b2b_soap_backup(sqlite_settings, tmp_path):
    settings = sqlite_settings
    stranger = tmp_path / "other.db"
    sqlite3.connect(stranger).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ValidationFailed, match="not a b2b-soap database"):
        restore_database(settings, stranger)
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ValidationFailed):
        restore_database(settings, tmp_path / "junk.db")
    old = tmp_path / "old.db"
    backup_database(settings, old)
    conn = sqlite3.connect(old)
    conn.execute("UPDATE alembic_version SET version_num = '0000'")
    conn.commit()
    conn.close()
    with pytest.raises(ValidationFailed, match="migration '0000'"):
        restore_database(settings, old)


def test_pg_restore_refuses_while_in_use_and_rejects_foreign_dumps(postgres_url, tmp_path):
    settings = settings_from_dict({"data_dir": str(tmp_path / "data"), "database": {"url": postgres_url}},
                                  environ={})
    _require_pg_tools(settings)
    dump = tmp_path / "b.dump"
    backup_database(settings, dump)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(ValidationFailed, match="other sessions"):
                restore_database(settings, dump)
    finally:
        engine.dispose()
    (tmp_path / "junk.dump").write_bytes(b"PGDMP but not really")
    with pytest.raises(ValidationFailed):
        restore_database(settings, tmp_path / "junk.dump")
