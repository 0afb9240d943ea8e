"""The least-privilege PostgreSQL roles of docs/deployment.md, on a throwaway database."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from b2b_soap.db import normalise_url, upgrade
from conftest import PG_ENV, require_or_skip

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def _block(marker: str) -> list[str]:
    """The SQL statements of the fenced block after ``<!-- marker -->`` in the deployment guide."""
    match = re.search(rf"<!-- {marker} -->\s*```sql\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"{marker} block missing from {DOC}"
    return [s.strip() for s in match.group(1).split(";") if s.strip()]


@pytest.fixture
def roles():
    url = os.environ.get(PG_ENV)
    require_or_skip(bool(url), f"PostgreSQL ({PG_ENV})")
    suffix = uuid.uuid4().hex[:8]
    names = {"b2b_owner": f"b2b_owner_{suffix}", "b2b_app": f"b2b_app_{suffix}", "b2b": f"b2b_roles_{suffix}"}

    def rename(statement: str) -> str:
        return re.sub(r"\b(b2b_owner|b2b_app|b2b)\b", lambda m: names[m.group(1)], statement)

    base = make_url(normalise_url(url))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    as_url = {role: base.set(username=names[role], password=None, database=names["b2b"])
              .render_as_string(hide_password=False) for role in ("b2b_owner", "b2b_app")}
    try:
        with admin.connect() as conn:
            for statement in _block("roles:cluster"):
                conn.execute(text(rename(statement).replace("PASSWORD 'change-me-owner'", "")
                                  .replace("PASSWORD 'change-me-app'", "")))
        superuser = create_engine(base.set(database=names["b2b"]), isolation_level="AUTOCOMMIT")
        with superuser.connect() as conn:
            for statement in _block("roles:database"):
                conn.execute(text(rename(statement)))
        superuser.dispose()
        yield as_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{names["b2b"]}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{names["b2b_app"]}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{names["b2b_owner"]}"'))
        admin.dispose()


@pytest.mark.postgres
def test_app_role_changes_rows_but_cannot_drop_tables(roles):
    upgrade(roles["b2b_owner"])  # migrations run as the owner
    app = create_engine(roles["b2b_app"])
    try:
        with app.begin() as conn:
            conn.execute(text("INSERT INTO bases (laestab, name, phase, b2b_enabled, created_at) "
                              "VALUES ('9996001', 'Role School', '', true, now())"))
            conn.execute(text("INSERT INTO audit_log (at, actor, action, object_type, object_id, detail) "
                              "VALUES (now(), 'test', 'test', '', '', '')"))  # a BIGSERIAL sequence
            conn.execute(text("UPDATE bases SET name = 'Renamed' WHERE laestab = '9996001'"))
            assert conn.scalar(text("SELECT count(*) FROM bases")) == 1
            conn.execute(text("DELETE FROM audit_log"))
        for statement in ("DROP TABLE audit_log", "TRUNCATE audit_log", "CREATE TABLE intruder (x int)",
                          "ALTER TABLE bases ADD COLUMN x int"):
            with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
                with app.begin() as conn:
                    conn.execute(text(statement))
    finally:
        app.dispose()
