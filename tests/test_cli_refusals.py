"""Set-up commands that cannot do their work say why in one line, exit non-zero and leave nothing
behind: ``init`` without a password or against a missing PostgreSQL database, ``serve`` on a busy
port, ``config check`` of a database the product cannot use."""
from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import make_url

from conftest import require_or_skip

pytest_plugins = ["test_cli_support"]  # the plain_cli fixture


def _config(cli, tmp_path, text: str) -> None:
    cli.config.write_text(f'data_dir = "{tmp_path / "data"}"\n{text}')


def test_init_without_a_password_leaves_nothing_behind(plain_cli, tmp_path):
    error = plain_cli.fails("init", "--admin-user", "la-admin")
    assert "no password given: use --password-stdin" in error
    assert not (tmp_path / "data").exists()
    assert "at least 12" in plain_cli.fails("init", "--admin-user", "la-admin", "--password-stdin", stdin="short\n")
    assert not (tmp_path / "data").exists()


def test_init_against_a_missing_postgresql_database_leaves_nothing_behind(plain_cli, tmp_path):
    server = os.environ.get("B2B_SOAP_TEST_DATABASE_URL", "")
    require_or_skip(bool(server), "PostgreSQL (B2B_SOAP_TEST_DATABASE_URL)")
    missing = make_url(server).set(database=f"b2b_missing_{uuid.uuid4().hex[:8]}")
    _config(plain_cli, tmp_path, f'[database]\nurl = "{missing.render_as_string(hide_password=False)}"\n')
    error = plain_cli.fails("init")
    assert "cannot use the database" in error and "does not exist" in error
    assert not (tmp_path / "data").exists()


def test_serve_on_a_busy_port_says_so_in_one_line(plain_cli, tmp_path):
    plain_cli.ok("init")
    (tmp_path / "b2b-soap.toml").chmod(0o600)  # else serve first warns that others can read it
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = plain_cli("serve", "--port", str(port), "--no-background")
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"b2b-soap serve: cannot listen on 127.0.0.1:{port}") and "in use" in line


def test_serve_takes_up_to_64_workers(postgres_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # serve sets it for the workers
    postgres_cli.ok("init")
    postgres_cli.config.chmod(0o600)  # else serve first warns that others can read it
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        allowed = postgres_cli("serve", "--port", str(port), "--workers", "64", "--no-background")
        refused = postgres_cli("serve", "--port", str(port), "--workers", "65", "--no-background")
    [line] = allowed.err.strip().splitlines()  # 64 gets as far as listening
    assert allowed.code == 2 and line.startswith(f"b2b-soap serve: cannot listen on 127.0.0.1:{port}")
    assert (refused.code, refused.err) == (2, "b2b-soap serve: --workers is at most 64\n")


def test_config_check_refuses_a_database_the_product_cannot_use(plain_cli, tmp_path):
    _config(plain_cli, tmp_path, '[database]\nurl = "mysql://b2b@db.la.example/b2b"\n')
    error = plain_cli.fails("config", "check", code=2)
    assert "database.url: mysql is not supported" in error
    _config(plain_cli, tmp_path, '[database]\nurl = "sqlite:///b2b.db"\n')
    assert plain_cli.ok("config", "check").out.startswith("status")
