"""Workers starting together on one PostgreSQL database import the configured jobs once, and all start."""
from __future__ import annotations

import threading

from sqlalchemy import func, select, text

from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import AuditEntry, MaintenanceJob
from b2b_soap.maintenance import store
from server import wait_for

JOBS = {"maintenance": {"jobs": [{"name": "pulse", "action": "clear_cache", "trigger": "interval", "seconds": 60}]}}


def _waiting_for_a_lock(ctx) -> bool:
    with ctx.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


def test_a_worker_starting_while_another_imports_the_jobs_waits_and_adds_nothing(postgres_url, monkeypatch):
    """The second worker read the stored jobs just before the first committed the same ones."""
    ctx = AppContext(settings_from_dict({"database": {"url": postgres_url}, **JOBS}, environ={}))
    read_stored = store._stored
    other: list[threading.Thread] = []
    failures: list[BaseException] = []

    def import_in_other_worker():
        try:
            store.import_config_jobs_once(ctx.sessions, "config", ctx.settings)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    def stored_then_other_worker_imports(session):
        stored = read_stored(session)
        if not other:  # the first reader lets the other worker run now, before it inserts
            other.append(threading.Thread(target=import_in_other_worker))
            other[0].start()
            wait_for(lambda: not other[0].is_alive() or _waiting_for_a_lock(ctx), 30, "the other worker", 0.02)
        return stored

    monkeypatch.setattr(store, "_stored", stored_then_other_worker_imports)
    try:
        store.import_config_jobs_once(ctx.sessions, "config", ctx.settings)
        other[0].join(30)
        assert not failures, failures
        with ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(MaintenanceJob)) == 1
            assert s.scalar(select(func.count()).where(AuditEntry.action == "job.add")) == 1
    finally:
        ctx.close()
