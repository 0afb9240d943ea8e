"""The ``jobs``, ``tasks`` and ``alerts`` commands, run through ``b2b_soap.cli.main``."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from b2b_soap import cli
from b2b_soap.db import Base, CacheEntry, Person, session_scope, utcnow


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
        out = capsys.readouterr().out
        return json.loads(out) if out.strip().startswith(("{", "[")) else out

    return invoke


def test_jobs_run_history_and_list(run):
    result = run("jobs", "run", "clear_cache", "--arg", "older_than_days=30")
    assert (result["outcome"], result["counts"]) == ("ok", {"deleted": 1})
    history = run("jobs", "history", "--job", "clear_cache")
    assert [h["outcome"] for h in history] == ["ok"]
    (job,) = run("jobs", "list")
    assert (job["name"], job["available"]) == ("nightly-cache", True) and job["next_fire"]


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
    run("tasks", "add", "--base", "9999999", "--name", "X", "--frequency", "Daily", "--time", "01:00", code=1)


def test_alerts_test_and_list(run):
    result = run("alerts", "test", "--trigger", "Maintenance job failed")
    assert result["status"] == "logged"  # no SMTP host configured
    (alert,) = run("alerts", "list")
    assert alert["trigger"] == "Maintenance job failed"
