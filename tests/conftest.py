"""Shared fixtures: a migrated database on SQLite and PostgreSQL, an app context, a loopback guard.

Database tests take the ``database_url`` fixture, parametrized over SQLite (a temporary file)
and PostgreSQL (a throwaway database on the server named by B2B_SOAP_TEST_DATABASE_URL).
Without that variable the PostgreSQL cases skip locally; under CI=true they fail instead.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from b2b_soap.config import settings_from_dict
from b2b_soap.db import normalise_url, upgrade

PG_ENV = "B2B_SOAP_TEST_DATABASE_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_or_skip(available: bool, what: str) -> None:
    """Skip a test whose external part is missing locally; under CI=true, fail it instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests may talk to this machine only."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _admin_url(url: str) -> str:
    return normalise_url(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def _pg_execute(url: str, sql: str) -> None:
    engine = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_template():
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    name = f"b2b_tmpl_{uuid.uuid4().hex[:10]}"
    _pg_execute(url, f'CREATE DATABASE "{name}"')
    template_url = make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    upgrade(template_url)
    yield url, name
    _pg_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _new_pg_database(request) -> str:
    template = request.getfixturevalue("_pg_template")
    require_or_skip(template is not None, f"PostgreSQL ({PG_ENV})")
    url, template_name = template
    name = f"b2b_t_{uuid.uuid4().hex[:12]}"
    _pg_execute(url, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    request.addfinalizer(lambda: _pg_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, _sqlite_template) -> str:
    """A freshly migrated, empty database; one per test."""
    if request.param == "sqlite":
        path = tmp_path / "b2b.db"
        shutil.copy(_sqlite_template, path)
        return f"sqlite:///{path}"
    return _new_pg_database(request)


@pytest.fixture
def postgres_url(request) -> str:
    """A freshly migrated PostgreSQL database, for what only PostgreSQL does (several processes)."""
    return _new_pg_database(request)


@pytest.fixture
def settings(tmp_path, database_url):
    """Settings for a test: its own data directory and database."""
    return settings_from_dict({"data_dir": str(tmp_path / "data"), "database": {"url": database_url}}, environ={})


@pytest.fixture
def ctx(settings):
    """An app context with a storage key, on a migrated database."""
    from b2b_soap.context import AppContext
    from b2b_soap.transfer.crypto import create_key_file
    create_key_file(settings.key_path)
    context = AppContext(settings)
    yield context
    context.close()
