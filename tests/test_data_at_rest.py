"""Data at rest: what init, demo and serve create is for the server's user only; serve warns otherwise."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from server import running_server
from service_setup import ServiceEnv
from test_cli_support import plain_cli  # noqa: F401  (fixture)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_owner_only_files_and_leaves_the_umask_alone(plain_cli, tmp_path) -> None:  # noqa: F811
    before = os.umask(0o022)
    try:
        plain_cli.ok("init")
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)
    data = tmp_path / "data"
    assert mode(data) == 0o700
    created = [p for p in data.iterdir() if p.is_file()]
    assert data / "b2b-soap.db" in created
    assert {p.name: mode(p) for p in created} == {p.name: 0o600 for p in created}


def test_demo_creates_owner_only_files(plain_cli, tmp_path) -> None:  # noqa: F811
    demo = tmp_path / "demo"
    plain_cli.ok("demo", "--data-dir", str(demo), "--persons", "20", "--no-serve", "--port", "8099")
    files = [p for p in demo.rglob("*") if p.is_file()]
    assert any(p.suffix == ".toml" for p in files) and any(p.suffix == ".db" for p in files)
    assert {str(p): mode(p) & 0o077 for p in files} == {str(p): 0 for p in files}


def test_serve_warns_when_others_can_read_the_database_or_config(tmp_path, database_url) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.config_path.chmod(0o644)
    with running_server(env.config_path) as srv:
        pass
    assert f"{env.config_path} can be read by other users" in srv.log()
    for path in [env.config_path, env.settings.key_path, *tmp_path.rglob("*.db*")]:
        path.chmod(0o600)
    with running_server(env.config_path) as srv:
        pass
    assert "can be read by other users" not in srv.log()
    env.close()
