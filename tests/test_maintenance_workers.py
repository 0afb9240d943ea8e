"""Once across workers: two scheduler processes on one PostgreSQL run each fire exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from b2b_soap import cli, maintenance
from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import AuditEntry, JobRun, utcnow
from b2b_soap.maintenance.locks import job_lock
from server import wait_for

REPO = Path(__file__).resolve().parents[1]

# The worker is the real scheduler-only entry point; its clear_cache action is swapped for one
# that takes a while and leaves one countable effect (an audit row) when it completes.
WORKER = """
import faulthandler, signal, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks a stuck worker where it is
from b2b_soap.db import AuditEntry, session_scope
from b2b_soap.maintenance import actions
from b2b_soap.maintenance.runs import worker_name

def slow_effect(ctx, delay=0.3):
    time.sleep(delay)
    with session_scope(ctx.sessions) as s:
        s.add(AuditEntry(actor=worker_name(), action="test.effect"))
    return {"effects": 1}

actions.ACTIONS["clear_cache"] = slow_effect
from b2b_soap.maintenance.scheduler_only import main
sys.exit(main(["--config", sys.argv[1], "--no-alerts"]))
"""


def _start(config: Path, log: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    output = open(log, "w") if log else subprocess.PIPE
    return subprocess.Popen([sys.executable, "-c", WORKER, str(config)], env=env, cwd=REPO,
                            stdout=output, stderr=subprocess.STDOUT, text=True)


def _runs(ctx) -> list[JobRun]:
    with ctx.sessions() as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.fire_time)))


@contextmanager
def _explained(ctx, workers: list[subprocess.Popen], logs: list[Path]):
    """A timeout says what each worker was doing: exit codes, the run history and the workers' logs."""
    try:
        yield
    except AssertionError as exc:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGUSR1)
        time.sleep(1)
        runs = "\n".join(f"{r.fire_time:%H:%M:%S} {r.worker} {r.outcome} {r.error}" for r in _runs(ctx))
        logged = "\n".join(f"--- worker {w.pid} (exit {w.poll()}):\n{log.read_text()[-6000:]}"
                           for w, log in zip(workers, logs))
        raise AssertionError(f"{exc}\nruns:\n{runs}\n{logged}") from None



def test_two_workers_run_each_fire_once_even_when_one_is_killed(tmp_path, postgres_url):
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{postgres_url}"\n'
                      '[[maintenance.jobs]]\nname = "pulse"\naction = "clear_cache"\ntrigger = "interval"\n'
                      'seconds = 1\nargs = { delay = 0.4 }\n')
    ctx = AppContext(settings_from_dict({"database": {"url": postgres_url}}, environ={}))
    # Output goes to files: a pipe nobody reads fills up and blocks a worker mid-log.
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_start(config, log) for log in logs]
    try:
        with _explained(ctx, workers, logs):
            wait_for(lambda: _all_logged(logs, "maintenance scheduler running"), 30, "both workers", 0.1)
            wait_for(lambda: len([r for r in _runs(ctx) if r.outcome == "ok"]) >= 3, 60, "three runs", 0.05)
            # Kill whichever worker is in the middle of a run.
            running = wait_for(lambda: [r for r in _runs(ctx) if r.outcome == "running"], 30, "a running job",
                               0.02)[0]
            victim = next(w for w in workers if running.worker.endswith(f":{w.pid}"))
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            wait_for(lambda: len([r for r in _runs(ctx) if r.fire_time > running.fire_time
                                  and r.outcome == "ok"]) >= 3, 60, "three runs after the kill", 0.05)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(20)
        outputs = [log.read_text() for log in logs]

    runs = _runs(ctx)
    with ctx.sessions() as s:
        effects = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "test.effect")).all()
    ctx.close()
    fire_times = [r.fire_time for r in runs]
    assert len(fire_times) == len(set(fire_times)), "a fire time ran twice"
    steps = [b - a for a, b in zip(fire_times, fire_times[1:])]
    assert all(step.total_seconds() >= 1 and step.total_seconds() % 1 == 0 for step in steps), outputs
    # A fire may be dropped only when both schedulers are still busy with the previous one (heavy load).
    assert steps.count(timedelta(seconds=1)) >= 0.8 * len(steps), f"fires lost: {steps}\n{outputs}"
    ok = [r for r in runs if r.outcome == "ok"]
    assert len(effects) == len(ok), "each completed run has exactly one effect"
    killed = next(r for r in runs if r.id == running.id)
    assert killed.outcome == "abandoned"  # marked by the next run, which got the released lock
    after = [r for r in runs if r.fire_time > killed.fire_time]
    assert after and all(r.outcome == "ok" for r in after[:-1])
    assert not any(r.worker.endswith(f":{victim.pid}") for r in after)
    assert len({r.worker for r in runs}) == 2, "both workers took part"


def test_a_run_never_overlaps_itself(tmp_path, postgres_url):
    ctx = AppContext(settings_from_dict({"database": {"url": postgres_url}}, environ={}))
    try:
        holding, release = threading.Event(), threading.Event()

        def hold():
            with job_lock(ctx.engine, "nightly") as locked:
                assert locked
                holding.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait(10)
        skipped = maintenance.run_fire(ctx, "nightly", "clear_cache", {}, utcnow())
        release.set()
        holder.join()
        ran = maintenance.run_fire(ctx, "nightly", "clear_cache", {}, utcnow())
        with ctx.sessions() as s:
            assert s.get(JobRun, skipped).outcome == "skipped"
            assert s.get(JobRun, ran).outcome == "ok"
    finally:
        ctx.close()


def _all_logged(logs: list[Path], text: str) -> bool:
    return all(text in log.read_text() for log in logs)


def test_a_job_added_changed_and_removed_at_run_time_reaches_both_workers(tmp_path, postgres_url, capsys):
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{postgres_url}"\n'
                      "[maintenance]\nreload_seconds = 0.5\n")
    ctx = AppContext(settings_from_dict({"database": {"url": postgres_url}}, environ={}))
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_start(config, log) for log in logs]
    try:
        wait_for(lambda: _all_logged(logs, "maintenance scheduler running"), 30, "both workers", 0.1)
        assert cli.main(["--config", str(config), "jobs", "add", "pulse", "clear_cache", "--every", "1"]) == 0
        wait_for(lambda: _all_logged(logs, "maintenance job pulse scheduled: clear_cache every 1s"), 20,
                 "both workers to schedule the new job", 0.1)
        wait_for(lambda: len({r.worker for r in _runs(ctx) if r.outcome == "ok"}) == 2, 30,
                 "runs by both workers", 0.1)

        assert cli.main(["--config", str(config), "jobs", "set", "pulse", "--every", "2"]) == 0
        wait_for(lambda: _all_logged(logs, "maintenance job pulse scheduled: clear_cache every 2s"), 20,
                 "both workers to take the change", 0.1)
        changed_at = utcnow()
        wait_for(lambda: len([r for r in _runs(ctx) if r.started_at > changed_at and r.outcome == "ok"]) >= 2,
                 30, "two runs on the new interval", 0.1)

        assert cli.main(["--config", str(config), "jobs", "remove", "pulse"]) == 0
        wait_for(lambda: _all_logged(logs, "maintenance job pulse unscheduled"), 20, "both workers to drop it", 0.1)
        wait_for(lambda: all(r.outcome != "running" for r in _runs(ctx)), 10, "the last run to end", 0.1)
        last = max(r.id for r in _runs(ctx))
        threading.Event().wait(2.5)  # longer than the interval: a worker still holding the job would fire
        assert max(r.id for r in _runs(ctx)) == last
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(20)
    runs = _runs(ctx)
    with ctx.sessions() as s:
        effects = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "test.effect")).all()
    ctx.close()
    fire_times = [r.fire_time for r in runs]
    assert len(fire_times) == len(set(fire_times)), "a fire ran twice"
    assert len(effects) == len([r for r in runs if r.outcome == "ok"]), "each run had exactly one effect"
    assert all(r.fire_time.second % 2 == 0 for r in runs if r.started_at > changed_at), "a fire of the old interval"
