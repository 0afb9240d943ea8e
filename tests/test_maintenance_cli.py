"""The ``jobs``, ``tasks`` and ``alerts`` commands, run through ``b2b_soap.cli.main``."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from b2b_soap import alerts, cli
from sqlalchemy import select

from b2b_soap.db import AuditEntry, Base, CacheEntry, MaintenanceJob, Person, session_scope, utcnow
from processing_support import pupil, upload_and_process


@pytest.fixture
def run(tmp_path, ctx, capsys):
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{ctx.settings.data_dir}"\n[database]\nurl = "{ctx.settings.database_url}"\n'
                      '[[maintenance.jobs]]\nname = "nightly-cache"\naction = "clear_cache"\ntrigger = "cron"\n'
                      'cron = "0 3 * * 0"\n')
    with session_scope(ctx.sessions) as s:
        s.add_all([Base(id=1, laestab="9991001", name="Alpha", b2b_enabled=True),
                   Base(id=2, laestab="9991002", name="Beta", b2b_enabled=True),
                   Base(id=3, laestab="9991003", name="Gamma", b2b_enabled=False)])
        s.flush()
        s.add(Person(id=1, surname="Smith"))
        s.flush()
        s.add(CacheEntry(person_id=1, field="surname", value="Smith", cached_at=utcnow() - timedelta(days=40)))

    def invoke(*argv, code=0):
        capsys.readouterr()
        assert cli.main(["--config", str(config), "--json", *argv]) == code
        out, err = capsys.readouterr()
        if code:
            return err
        return json.loads(out) if out.strip().startswith(("{", "[")) else out

    invoke.config = config
    return invoke


def test_jobs_run_history_and_list(run):
    result = run("jobs", "run", "clear_cache", "--arg", "older_than_days=30")
    assert (result["outcome"], result["counts"]) == ("ok", {"deleted": 1})
    history = run("jobs", "history", "--job", "clear_cache")
    assert [h["outcome"] for h in history] == ["ok"]
    assert run("jobs", "list") == []  # nothing until init seeds the defaults and adds the configured job


def test_init_seeds_the_default_schedule_and_the_configured_jobs_once(run, ctx):
    run("init")
    jobs = {j["name"]: j for j in run("jobs", "list")}
    expected = {"clear-conflicts": ("clear_conflicts", "30 1 * * *"), "delete-files": ("delete_files", "0 2 * * *"),
                "clear-cache": ("clear_cache", "0 3 * * *"), "attainment-import": ("attainment_import", "every 900s"),
                "nightly-cache": ("clear_cache", "0 3 * * 0")}
    assert {name: (j["action"], j["trigger"]) for name, j in jobs.items() if name in expected} == expected
    assert all(j["next_fire"] and not j["paused"] for j in jobs.values() if j["available"])
    run("jobs", "remove", "delete-files")
    run("jobs", "remove", "nightly-cache")
    run("init")  # a removed default or configured job is not brought back
    assert not {"delete-files", "nightly-cache"} & {j["name"] for j in run("jobs", "list")}


def test_jobs_are_added_changed_paused_resumed_and_removed_with_audit(run, ctx):
    added = run("jobs", "add", "weekly-cache", "clear_cache", "--cron", "0 4 * * 0", "--arg", "older_than_days=30")
    assert (added["trigger"], added["args"], added["paused"]) == ("0 4 * * 0", {"older_than_days": 30}, False)
    assert added["next_fire"]
    changed = run("jobs", "set", "weekly-cache", "--every", "3600", "--arg", "older_than_days=7")
    assert (changed["trigger"], changed["args"]) == ("every 3600s", {"older_than_days": 7})
    assert run("jobs", "pause", "weekly-cache")["paused"] is True
    assert [j["next_fire"] for j in run("jobs", "list")] == [None]
    assert run("jobs", "resume", "weekly-cache")["next_fire"]
    run("jobs", "remove", "weekly-cache")
    assert run("jobs", "list") == []
    with ctx.sessions() as s:
        trail = s.execute(select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.object_type == "maintenance_job").order_by(AuditEntry.id)).all()
        assert [a for a, _ in trail] == ["job.add", "job.change", "job.pause", "job.resume", "job.remove"]
        assert all(actor.startswith("cli") for _, actor in trail)
        assert s.scalar(select(MaintenanceJob.removed).where(MaintenanceJob.name == "weekly-cache")) is True


@pytest.mark.parametrize("argv, message", [
    (("add", "bad", "clear_cache", "--cron", "61 * * * *"), "cron '61 * * * *' is not valid"),
    (("add", "bad", "clear_cache", "--cron", "0 3 * *"), "5 crontab fields"),
    (("add", "bad", "clear_cache"), "either a cron expression or an interval"),
    (("add", "bad", "clear_cache", "--every", "0"), "either a cron expression or an interval"),
    (("add", "bad", "delete_files", "--every", "60", "--arg", "retention_day=3"), "takes no argument 'retention_day'"),
    (("set", "nobody", "--every", "60"), "no maintenance job called 'nobody'"),
    (("pause", "nobody"), "no maintenance job called 'nobody'"),
])
def test_bad_job_changes_are_refused_with_the_reason(run, capsys, argv, message):
    capsys.readouterr()
    assert cli.main(["--config", str(run.config), "jobs", *argv]) == 1
    assert message in capsys.readouterr().err
    assert run("jobs", "list") == []


def test_delete_files_honours_retention_days_0_and_refuses_bad_arguments(run, ctx):
    upload_and_process(ctx, 1, [pupil("Kai", "Moreno", date(2011, 3, 3))], laestab="9991001")
    result = run("jobs", "run", "delete_files", "--arg", "retention_days=0")
    assert (result["outcome"], result["counts"]) == ("ok", {"deleted": 1, "parts_deleted": 0, "retention_days": 0})
    for bad, shown in (("retention_days=-1", "-1"), ("retention_days=abc", "'abc'"), ("retention_days=1.5", "1.5")):
        assert run("jobs", "run", "delete_files", "--arg", bad, code=1) == \
            f"error: retention_days must be a whole number, 0 or more (not {shown})\n"
    assert "takes no argument 'days'" in run("jobs", "run", "delete_files", "--arg", "days=3", code=1)
    assert [h["outcome"] for h in run("jobs", "history", "--job", "delete_files")] == ["ok"]  # nothing recorded


def test_tasks_add_update_list_delete(run):
    created = run("tasks", "add", "--all-bases", "--name", "Census", "--frequency", "Weekly", "--days", "Mon,Fri",
                  "--time", "18:00", "--ncy", "R,1")
    assert [(t["base"], t["owner"]) for t in created] == [("9991001", "LA"), ("9991002", "LA")]
    task_id = created[0]["task_id"]
    changed = run("tasks", "update", str(task_id), "--frequency", "Monthly", "--day-of-month", "15")
    assert (changed["frequency"], changed["day_of_month"], changed["version"]) == ("Monthly", 15, 2)
    run("tasks", "update", str(task_id), "--version", "1", "--name", "Stale", code=1)
    run("tasks", "delete", str(task_id))
    assert [t["base"] for t in run("tasks", "list")] == ["9991002"]
    assert run("tasks", "list", "--base", "9991001") == []
    assert [t["name"] for t in run("tasks", "list", "--base", "9991002")] == ["Census"]
    assert run("tasks", "list", "--base", "9999999", code=1) == "error: unknown base 9999999\n"
    run("tasks", "add", "--base", "9999999", "--name", "X", "--frequency", "Daily", "--time", "01:00", code=1)


def test_alerts_test_and_list(run):
    result = run("alerts", "test", "--trigger", "Maintenance job failed")
    assert result["status"] == "logged"  # no SMTP host configured
    (alert,) = run("alerts", "list")
    assert alert["trigger"] == "Maintenance job failed"


def test_alerts_list_shows_the_newest_50_unless_asked_for_more(run, ctx):
    with session_scope(ctx.sessions) as session:
        for n in range(51):
            alerts.raise_alert(session, ctx.settings, "Maintenance job failed", f"job {n}", "")
    assert [a["subject"] for a in run("alerts", "list")] == [f"job {n}" for n in range(50, 0, -1)]
    assert len(run("alerts", "list", "--limit", "51")) == 51


def test_jobs_run_of_a_run_that_fails_exits_1_with_the_run_recorded(run, capsys, ctx):
    capsys.readouterr()
    assert cli.main(["--config", str(run.config), "--json", "jobs", "run", "attainment_import"]) == 1
    failed = json.loads(capsys.readouterr().out)
    assert (failed["job"], failed["outcome"]) == ("attainment_import", "failed")
    assert "NotLicensed" in failed["error"]
    assert [h["outcome"] for h in run("jobs", "history", "--job", "attainment_import")] == ["failed"]
    assert [a["trigger"] for a in run("alerts", "list")] == [alerts.JOB_FAILED]
