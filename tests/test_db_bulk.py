"""bulk_insert and bulk_upsert write what SQLAlchemy's own statements would, defaults and JSON null included."""
from __future__ import annotations

from sqlalchemy import insert, select

from b2b_soap.db import Alert, AuditEntry, SystemDefault, bulk_insert, bulk_upsert, one_of, session_scope
from b2b_soap.db.bulk import IN_LIST_SIZE

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


def test_bulk_upsert_inserts_updates_and_lets_the_last_row_win(ctx):
    def upsert(rows):
        with session_scope(ctx.sessions) as session:
            return bulk_upsert(session.connection(), SystemDefault.__table__, rows, ("name",))

    def stored():
        with session_scope(ctx.sessions) as session:
            return {d.name: (d.value, d.updated_by) for d in session.scalars(select(SystemDefault))}

    assert upsert([]) == 0
    assert upsert([{"name": "ALPHA", "value": "1"}, {"name": "BETA", "value": "2"},
                   {"name": "ALPHA", "value": "3"}]) == 2
    assert stored() == {"ALPHA": ("3", ""), "BETA": ("2", "")}
    assert upsert([{"name": "BETA", "value": AWKWARD, "updated_by": "officer"},
                   {"name": "GAMMA", "value": "4", "updated_by": "officer"}]) == 2
    assert stored() == {"ALPHA": ("3", ""), "BETA": (AWKWARD[:200], "officer"), "GAMMA": ("4", "officer")}


def test_bulk_upsert_leaves_a_row_whose_compared_values_are_the_same(ctx):
    def upsert(rows):
        with session_scope(ctx.sessions) as session:
            bulk_upsert(session.connection(), SystemDefault.__table__, rows, ("name",), unless_same=("value",))

    def stored():
        with session_scope(ctx.sessions) as session:
            return {d.name: (d.value, d.updated_by) for d in session.scalars(select(SystemDefault))}

    upsert([{"name": "ALPHA", "value": "1", "updated_by": "first"},
            {"name": "BETA", "value": "2", "updated_by": "first"}])
    upsert([{"name": "ALPHA", "value": "1", "updated_by": "second"},
            {"name": "BETA", "value": "3", "updated_by": "second"},
            {"name": "GAMMA", "value": "4", "updated_by": "second"}])
    assert stored() == {"ALPHA": ("1", "first"), "BETA": ("3", "second"), "GAMMA": ("4", "second")}


def test_one_of_finds_every_value_asked_for_however_many(ctx):
    names = [f"NAME{i}" for i in range(IN_LIST_SIZE + 10)]
    with session_scope(ctx.sessions) as session:
        bulk_insert(session.connection(), SystemDefault.__table__, [{"name": n, "value": "x"} for n in names])
    with session_scope(ctx.sessions) as session:
        assert list(one_of(session, SystemDefault.name, [])) == []
        found = [name for among in one_of(session, SystemDefault.name, names[::2] + ["MISSING"])
                 for name in session.scalars(select(SystemDefault.name).where(among))]
    assert sorted(found) == sorted(names[::2])
