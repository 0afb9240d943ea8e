"""Shared set-up for the CLI tests: ``b2b_soap.cli.main`` run in-process against a config file that
points at the ``database_url`` fixture, so every CLI test runs on SQLite and PostgreSQL.

No tests here; ``test_cli_*.py`` modules import the ``cli`` fixture.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from b2b_soap.cli import main
from b2b_soap.licensing import generate_keypair

PASSWORD = "correct horse battery"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one-line reason a failing command prints."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.err
        return lines[0]


class Cli:
    def __init__(self, config: Path, private_key: Path, capsys, monkeypatch):
        self.config, self.private_key = config, private_key
        self._capsys, self._monkeypatch = capsys, monkeypatch

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        self._monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        try:
            code = main(["--config", str(self.config), *args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out, err = self._capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        result = self(*args, stdin=stdin)
        assert result.code == 0, result
        return result

    def json(self, *args: str, stdin: str | None = None):
        return json.loads(self.ok("--json", *args, stdin=stdin).out)

    def fails(self, *args: str, stdin: str | None = None, code: int = 1) -> str:
        """Run a command that must fail; its one-line reason."""
        result = self(*args, stdin=stdin)
        assert result.code == code, result
        return result.error_line


def _cli(tmp_path, database_url: str, capsys, monkeypatch) -> Cli:
    for name in list(os.environ):
        if name.startswith("B2B_SOAP_") and name != "B2B_SOAP_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    private_key = tmp_path / "vendor.pem"
    public_key = generate_keypair(private_key)
    config = tmp_path / "b2b-soap.toml"
    database = f'\n[database]\nurl = "{database_url}"\n' if database_url else ""
    licence = f'[licence]\npublic_key = "{public_key}"\n'
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n{database}\n{licence}')
    return Cli(config, private_key, capsys, monkeypatch)


@pytest.fixture
def cli(tmp_path, database_url, capsys, monkeypatch) -> Cli:
    """The CLI on a migrated database: SQLite and PostgreSQL."""
    return _cli(tmp_path, database_url, capsys, monkeypatch)


@pytest.fixture
def postgres_cli(tmp_path, postgres_url, capsys, monkeypatch) -> Cli:
    """The CLI on a migrated PostgreSQL database, for what SQLite refuses (several server processes)."""
    return _cli(tmp_path, postgres_url, capsys, monkeypatch)


@pytest.fixture
def plain_cli(tmp_path, capsys, monkeypatch) -> Cli:
    """The CLI with the default SQLite file in a fresh data directory, for commands that do not
    depend on the database engine."""
    return _cli(tmp_path, "", capsys, monkeypatch)
