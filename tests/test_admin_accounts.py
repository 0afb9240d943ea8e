"""Bases, users and groups as domain functions: validation, duplicates and the audit trail."""
import pytest
from sqlalchemy import select

from b2b_soap.setup import bases, groups, users
from b2b_soap.db import AuditEntry, session_scope
from b2b_soap.errors import NotFound, ValidationFailed
from b2b_soap.security import verify_password

PASSWORD = "correct horse battery"


def test_accounts_round_trip_with_errors_and_audit(ctx):
    security = ctx.settings.security
    with session_scope(ctx.sessions) as s:
        bases.add_base(s, "admin", "9991001", "North School", "Primary")
        for bad in ("999100", "99910011", "999100x"):
            with pytest.raises(ValidationFailed, match="7 digits"):
                bases.add_base(s, "admin", bad, "X")
        with pytest.raises(ValidationFailed, match="already exists"):
            bases.add_base(s, "admin", "9991001", "Again")
        bases.set_b2b(s, "admin", "9991001", True)
        users.add_user(s, security, "admin", "north", PASSWORD, base="9991001")
        users.add_user(s, security, "admin", "officer", PASSWORD, full_name="Olive Officer")
        with pytest.raises(ValidationFailed, match="already exists"):
            users.add_user(s, security, "admin", "north", PASSWORD)
        with pytest.raises(ValidationFailed, match="at least 12"):
            users.add_user(s, security, "admin", "weak", "short")
        with pytest.raises(NotFound, match="unknown base"):
            users.add_user(s, security, "admin", "ghost", PASSWORD, base="9990000")
        groups.add_group(s, "admin", "Schools")
        groups.grant(s, "admin", "Schools", "b2bs import/export", "read-write")
        with pytest.raises(ValidationFailed, match="unknown process"):
            groups.grant(s, "admin", "Schools", "Time travel", "Read")
        with pytest.raises(ValidationFailed, match="unknown level"):
            groups.grant(s, "admin", "Schools", "Reports", "Write")
        groups.add_member(s, "admin", "Schools", "north")
        with pytest.raises(ValidationFailed, match="already in group"):
            groups.add_member(s, "admin", "Schools", "north")

    with session_scope(ctx.sessions) as s:
        [base] = bases.list_bases(s)
        assert base == {"laestab": "9991001", "name": "North School", "phase": "Primary", "b2b_enabled": True,
                        "users": 1}
        listed = {u["username"]: u for u in users.list_users(s)}
        assert listed["north"]["kind"] == "school" and listed["north"]["base"] == "9991001"
        assert listed["officer"]["kind"] == "la" and listed["north"]["groups"] == "Schools"
        assert groups.list_groups(s)[0]["permissions"] == "B2BS Import/Export=Read-Write"
        users.lock_user(s, "admin", "north")
        assert {u["username"]: u["locked"] for u in users.list_users(s)}["north"] is True
        users.unlock_user(s, "admin", "north")
        users.set_password(s, security, "admin", "north", "a brand new password")
        assert verify_password("a brand new password", users.get_user(s, "north").password_hash)
        groups.remove_member(s, "admin", "Schools", "north")
        with pytest.raises(NotFound):
            groups.remove_member(s, "admin", "Schools", "north")

    with session_scope(ctx.sessions) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.action for e in entries] == [
        "base.add", "base.set_b2b", "user.add", "user.add", "group.add", "group.grant", "group.member_add",
        "user.lock", "user.unlock", "user.passwd", "group.member_remove"]
    assert all(e.actor == "admin" for e in entries)
    set_flag = entries[1]
    assert (set_flag.before, set_flag.after) == ({"b2b_enabled": False}, {"b2b_enabled": True})
    text = " ".join(f"{e.before} {e.after} {e.detail}" for e in entries)
    assert "scrypt$" not in text and PASSWORD not in text and "brand new" not in text
