"""bulk_insert writes what SQLAlchemy's own INSERT would: Python-side defaults and JSON null included."""
from __future__ import annotations

from sqlalchemy import insert, select

from b2b_soap.db import Alert, AuditEntry, bulk_insert, session_scope

AWKWARD = "it's “quoted”\ta tab,\na newline and a \\ backslash"


def test_bulk_insert_stores_what_a_plain_insert_does(ctx):
    rows = [{"actor": f"actor{i}", "action": "note", "object_id": str(i), "before": None,
             "after": {"fields": ["forename", AWKWARD], "count": i}} for i in range(3)]
    with session_scope(ctx.sessions) as session:
        bulk_insert(session.connection(), AuditEntry.__table__, rows[:2])
        session.execute(insert(AuditEntry.__table__), rows[2:])
        bulk_insert(session.connection(), AuditEntry.__table__, [])
    table = AuditEntry.__table__
    with session_scope(ctx.sessions) as session:
        stored = session.execute(select(table, table.c.before.is_(None).label("sql_null"))
                                 .order_by(table.c.id)).mappings().all()
    assert [r["actor"] for r in stored] == ["actor0", "actor1", "actor2"]
    for row, given in zip(stored, rows):
        assert row["after"] == given["after"] and row["before"] is None
        assert (row["object_type"], row["detail"]) == ("", "") and row["at"] is not None
    assert len({r["sql_null"] for r in stored}) == 1  # JSON null or SQL NULL, the same either way


def test_bulk_insert_keeps_text_exactly(ctx):
    with session_scope(ctx.sessions) as session:
        bulk_insert(session.connection(), Alert.__table__,
                    [{"trigger": "test", "subject": AWKWARD, "body": AWKWARD * 2}])
    with session_scope(ctx.sessions) as session:
        alert = session.scalar(select(Alert))
        assert (alert.subject, alert.body, alert.status, alert.attempts) == (AWKWARD, AWKWARD * 2, "pending", 0)
