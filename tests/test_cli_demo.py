"""``demo``: a complete demo LA in a directory, reused without duplicates; and the installed
console script run as a new user would run it."""
import json
import os
import stat
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, func, select

from conftest import require_or_skip
from server import RunningServer, free_port, wait_for, zeep_client

from b2b_soap.db import (Base, CarerLink, Group, GroupMember, GroupPermission, Licence, Person, User,
                         normalise_url)

pytest_plugins = ["test_cli_support"]  # the cli and plain_cli fixtures

TABLES = (Base, User, Group, GroupMember, GroupPermission, Licence, Person, CarerLink)


def _counts(url):
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        counts = {t.__tablename__: conn.scalar(select(func.count()).select_from(t)) for t in TABLES}
    engine.dispose()
    return counts


def test_demo_creates_then_reuses_without_duplicates(cli, tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("B2B_SOAP_DATABASE_URL", database_url)  # SQLite file or PostgreSQL, per parameter
    demo = tmp_path / "demo"
    first = cli.json("demo", "--data-dir", str(demo), "--persons", "500", "--no-serve", "--port", "8099")
    assert first["users"] == [f"school-999400{n}" for n in (1, 2, 3, 4)] + ["la-admin"]
    assert first["endpoints"]["school service"] == "http://127.0.0.1:8099/B2BStudent.svc"
    config = tomllib.loads((demo / "b2b-soap.toml").read_text())
    assert config["la"] == {"number": "999", "name": "Demo LA"} and config["server"]["port"] == 8099
    for name in ("vendor-private.pem", "storage.key"):
        assert stat.S_IMODE((demo / name).stat().st_mode) == 0o600
    counts = _counts(database_url)
    assert counts["bases"] == 4 and counts["users"] == 5 and counts["groups"] == 2 and counts["licences"] == 1
    assert counts["group_members"] == 5 and counts["group_permissions"] == 6 and counts["persons"] == 500
    assert counts["carer_links"] > 300

    again = cli.ok("demo", "--data-dir", str(demo), "--persons", "500", "--no-serve", "--port", "8099").out
    assert "kept 500 persons" in again and "created" not in again and "Demo LA 999 is ready" in again
    assert _counts(database_url) == counts

    demo_config = ["--config", str(demo / "b2b-soap.toml")]
    assert cli.json(*demo_config, "licence", "show")["features"] == "B2B_ATTAINMENT, B2B_STUDENT, PULSE"
    bases = {b["laestab"]: b["b2b_enabled"] for b in cli.json(*demo_config, "base", "list")}
    assert bases == {"9994001": True, "9994002": True, "9994003": True, "9994004": False}
    groups = {g["name"]: g for g in cli.json(*demo_config, "group", "list")}
    assert groups["LA Administrators"]["members"] == "la-admin"
    jobs = {j["name"]: (j["action"], j["trigger"]) for j in cli.json(*demo_config, "jobs", "list")}
    assert {"clear-conflicts", "delete-files", "clear-cache", "attainment-import"} <= set(jobs)
    assert jobs["attainment-import"] == ("attainment_import", "every 900s")
    assert groups["Schools B2B"]["permissions"] == \
        "B2BS Import/Export=Read-Write; Import/Export data=Read-Write"


def test_demo_serves_until_stopped(plain_cli, tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("B2B_SOAP_")}, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "b2b_soap.cli", "--config", str(plain_cli.config),
                                 "demo", "--data-dir", str(tmp_path / "d"), "--persons", "20", "--port", str(port),
                                 "--password", "another-password"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        health = wait_for(lambda: _health(port) or demo.poll() is not None, 120, "the demo server's /health")
        assert health is not True, log.read_text()
        assert health["status"] == "ok", health
        zeep_client(RunningServer(f"http://127.0.0.1:{port}", demo, log, tmp_path / "d" / "b2b-soap.toml"),
                    "school-9994001", "another-password").service.GetServerInfo()
    finally:
        demo.terminate()
        demo.wait(30)
    text = log.read_text()
    assert "password:         another-password" in text and "Serving until stopped" in text
    assert "at least 12" in plain_cli.fails("demo", "--data-dir", str(tmp_path / "e"), "--password", "short",
                                            "--no-serve")
    assert not (tmp_path / "e").exists()


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).parent / "b2b-soap"
    require_or_skip(script.exists(), "the installed b2b-soap console script (pip install -e .)")
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("B2B_SOAP_")}

    def run(*args, **kw):
        return subprocess.run([str(script), "--config", str(config), *args], env=env, capture_output=True,
                              text=True, timeout=120, **kw)

    done = run("init", "--admin-user", "admin", "--password-stdin", input="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert "user admin" in done.stdout and "created" in done.stdout
    failed = run("base", "show", "1234567")
    assert failed.returncode == 1 and failed.stderr == "error: unknown base '1234567'\n"
    assert run("--json", "base", "list").stdout.strip() == "[]"
