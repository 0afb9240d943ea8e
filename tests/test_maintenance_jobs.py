"""Maintenance jobs on real data, called directly and fired by the real APScheduler."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from b2b_soap import alerts, maintenance
from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import (Alert, Base, CacheEntry, Conflict, FilePart, JobRun, Person, QueueEntry, VirtualFile,
                         session_scope, utcnow)
from b2b_soap.files.deletion import delete_files
from b2b_soap.maintenance import actions
from b2b_soap.maintenance.locks import SchedulerLocked
from server import running_server
from service_setup import ServiceEnv

OLD = utcnow() - timedelta(days=200)
NEW = utcnow() - timedelta(days=1)


def _context(tmp_path, database_url, jobs=(), **extra) -> AppContext:
    data = {"data_dir": str(tmp_path / "data"), "database": {"url": database_url},
            "maintenance": {"jobs": list(jobs)}, **extra}
    return AppContext(settings_from_dict(data, environ={}))


@pytest.fixture
def jobs_ctx(tmp_path, database_url):
    jobs = [{"name": n, "action": a, "trigger": "interval", "seconds": 1}
            for n, a in (("cc", "clear_conflicts"), ("df", "delete_files"), ("cache", "clear_cache"))]
    ctx = _context(tmp_path, database_url, jobs)
    _seed(ctx)
    yield ctx
    ctx.close()


def _file(s, file_id: str, status: str, received, parts: int = 2) -> None:
    s.add(VirtualFile(id=file_id, file_guid=file_id, base_id=1, data_type="Student", file_name=f"{file_id}.xml",
                      total_bytes=10, sha256="ab" * 32, status=status, content=b"secret", received_at=received,
                      pupil_count=3))
    s.flush()
    s.add_all([FilePart(file_id=file_id, part_number=n, content=b"part", size=4) for n in range(1, parts + 1)])


def _seed(ctx) -> None:
    with session_scope(ctx.sessions) as s:
        s.add(Base(id=1, laestab="9991001", name="Alpha", b2b_enabled=True))
        s.flush()
        s.add_all([Person(id=1, surname="Smith", forename="Ann", dob=date(2015, 3, 1), postcode="AB1 2CD"),
                   Person(id=2, surname="Jones", forename="Bob", dob=date(2014, 1, 2))])
        s.flush()
        s.add_all([
            Conflict(id=1, person_id=1, field="surname", la_value="Smyth", incoming_value="Smith", base_id=1),
            Conflict(id=2, person_id=2, field="surname", la_value="Jones", incoming_value="Jonas", base_id=1),
            Conflict(id=3, person_id=1, field="dob", la_value="2015-03-02", incoming_value="2015-03-01", base_id=1),
            Conflict(id=4, person_id=2, field="no_such_column", la_value="x", incoming_value="x", base_id=1),
            Conflict(id=5, person_id=2, field="forename", la_value="Rob", incoming_value="Bob", base_id=1,
                     status="kept"),
        ])
        for i, (status, received) in enumerate([("Processed", OLD), ("Rejected", OLD), ("Processed", NEW),
                                                ("Received", OLD), ("Receiving", OLD), ("Processing", OLD),
                                                ("Failed", OLD), ("Processed", OLD)]):
            _file(s, f"f{i}", status, received)
        s.add(QueueEntry(file_id="f7"))  # processed but re-queued: still queued, must stay
        s.add_all([CacheEntry(person_id=1, field="surname", value="Smith", cached_at=OLD),
                   CacheEntry(person_id=2, field="surname", value="Jones", cached_at=NEW)])


def _assert_effects(ctx) -> None:
    with ctx.sessions() as s:
        status = dict(s.execute(select(Conflict.id, Conflict.status)).all())
        assert status == {1: "cleared", 2: "open", 3: "cleared", 4: "open", 5: "kept"}
        files = {f.id: f for f in s.scalars(select(VirtualFile))}
        for gone in ("f0", "f1"):
            assert files[gone].content is None and files[gone].deleted_at is not None
            assert (files[gone].sha256, files[gone].pupil_count, files[gone].base_id) == ("ab" * 32, 3, 1)
        for kept in ("f2", "f3", "f4", "f5", "f6", "f7"):
            assert files[kept].content == b"secret" and files[kept].deleted_at is None, kept
        parts = dict(s.execute(select(FilePart.file_id, func.count()).group_by(FilePart.file_id)).all())
        assert parts == {"f2": 2, "f3": 2, "f4": 2, "f5": 2, "f6": 2, "f7": 2}


def test_actions_called_directly(jobs_ctx):
    assert actions.clear_conflicts(jobs_ctx) == {"cleared": 2}
    assert delete_files(jobs_ctx) == {"deleted": 2, "parts_deleted": 4, "retention_days": 90}
    assert actions.clear_cache(jobs_ctx, older_than_days=30) == {"deleted": 1}
    _assert_effects(jobs_ctx)
    with jobs_ctx.sessions() as s:
        assert s.scalars(select(CacheEntry.person_id)).all() == [2]
    assert actions.clear_cache(jobs_ctx) == {"deleted": 1}
    assert actions.clear_conflicts(jobs_ctx) == {"cleared": 0}  # idempotent


def test_real_scheduler_fires_each_job_and_records_runs(jobs_ctx):
    stop = maintenance.start_scheduler(jobs_ctx)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with jobs_ctx.sessions() as s:
                done = set(s.scalars(select(JobRun.job).where(JobRun.outcome == "ok")))
            if done == {"cc", "df", "cache"}:
                break
            time.sleep(0.2)
    finally:
        stop()
    assert done == {"cc", "df", "cache"}
    _assert_effects(jobs_ctx)
    with jobs_ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CacheEntry)) == 0
        runs = maintenance.list_runs(s, job="cc")
        first = runs[-1]
        assert first.counts == {"cleared": 2} and first.finished_at >= first.started_at
        assert all(r.fire_time.microsecond == 0 for r in runs)  # the scheduled time, not "now"
        fire_times = s.execute(select(JobRun.job, JobRun.fire_time)).all()
        assert len(fire_times) == len(set(fire_times))


def test_a_failing_run_is_recorded_and_alerted(tmp_path, database_url, monkeypatch):
    ctx = _context(tmp_path, database_url)

    def broken(ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(actions.ACTIONS, "clear_cache", broken)
    try:
        run = maintenance.run_now(ctx, "clear_cache")
        assert (run.outcome, run.job) == ("failed", "clear_cache")
        assert "disk on fire" in run.error and run.finished_at
        with ctx.sessions() as s:
            alert = s.scalars(select(Alert)).one()
            assert alert.trigger == alerts.JOB_FAILED and "clear_cache" in alert.subject
    finally:
        ctx.close()


def test_one_fire_runs_once_and_history_lists_it(tmp_path, database_url):
    ctx = _context(tmp_path, database_url)
    try:
        fire = utcnow().replace(microsecond=0)
        first = maintenance.run_fire(ctx, "nightly", "clear_cache", {}, fire)
        assert first is not None
        assert maintenance.run_fire(ctx, "nightly", "clear_cache", {}, fire) is None
        with ctx.sessions() as s:
            (run,) = maintenance.list_runs(s, job="nightly")
            assert (run.outcome, run.fire_time, run.counts) == ("ok", fire, {"deleted": 0})
    finally:
        ctx.close()


def test_unknown_actions_are_refused_and_a_stored_one_is_not_scheduled(tmp_path, database_url):
    from b2b_soap.db import MaintenanceJob
    from b2b_soap.errors import ValidationFailed
    with pytest.raises(ValidationFailed, match="unknown action 'defrag'; known: clear_conflicts"):
        actions.resolve_action("defrag")
    ctx = _context(tmp_path, database_url)
    try:
        with pytest.raises(ValidationFailed, match="unknown action 'defrag'"):
            maintenance.run_now(ctx, "defrag")
        with session_scope(ctx.sessions) as s:
            with pytest.raises(ValidationFailed, match="unknown action 'defrag'"):
                maintenance.add_job(s, "la", "defrag-nightly", "defrag", cron="0 4 * * *")
        # A row another version of b2b-soap wrote: listed as not available, never scheduled.
        with session_scope(ctx.sessions) as s:
            s.add(MaintenanceJob(name="defrag-nightly", action="defrag", trigger="cron", cron="0 4 * * *"))
        assert maintenance.build_scheduler(ctx).get_jobs(jobstore="default") == []
        assert [(j["name"], j["available"]) for j in maintenance.describe_jobs(ctx)] == [("defrag-nightly", False)]
        with ctx.sessions() as s:
            assert maintenance.list_runs(s) == []
    finally:
        ctx.close()


def test_cron_weekday_numbers_mean_what_crontab_means(tmp_path):
    from b2b_soap.maintenance.triggers import _crontab
    assert _crontab("30 1 * * 0") == "30 1 * * sun"
    assert _crontab("0 2 * * 1-5") == "0 2 * * mon-fri"


def test_second_scheduler_on_one_sqlite_database_refuses(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    from b2b_soap.db import upgrade
    upgrade(url)
    job = [{"name": "cache", "action": "clear_cache", "trigger": "interval", "seconds": 3600}]
    first, second = _context(tmp_path, url, job), _context(tmp_path, url, job)
    stop = maintenance.start_scheduler(first)
    try:
        with pytest.raises(SchedulerLocked, match="already runs maintenance jobs on this SQLite database"):
            maintenance.start_scheduler(second, strict=True)
        maintenance.start_scheduler(second)()  # not strict: logs, starts nothing, stopper is a no-op
    finally:
        stop()
        first.close()
        second.close()
    third = _context(tmp_path, url, job)
    maintenance.start_scheduler(third, strict=True)()  # free again once the first stopped
    third.close()


@pytest.mark.parametrize("processing", [False, True], ids=["without-processing", "with-processing"])
def test_serve_stops_the_scheduler_and_the_other_background_components_on_sigterm(tmp_path, database_url, processing):
    """serve starts the scheduler and alert delivery (and the processing worker when enabled);
    SIGTERM stops each of them before the last line, whichever of them is not configured."""
    job = {"name": "cache", "action": "clear_cache", "trigger": "interval", "seconds": 3600}
    env = ServiceEnv.create(tmp_path, database_url, processing={"enabled": processing, "poll_seconds": 0.2},
                            maintenance={"enabled": True, "jobs": [job]})
    try:
        with running_server(env.config_path, background=True) as srv:
            assert "maintenance scheduler started with 1 job(s)" in srv.log()
    finally:
        env.close()
    assert srv.process.returncode == 0
    lines = [line for line in srv.log().splitlines() if line.strip()]
    assert not [line for line in lines if "failed to stop" in line or "Traceback" in line], lines[-20:]
    shut_down = [i for i, line in enumerate(lines) if line.endswith("Scheduler has been shut down")]
    assert len(shut_down) == 1 and shut_down[0] < len(lines) - 1, lines[-20:]
    assert lines[-1].endswith(" stopped"), lines[-20:]
