"""Permission rules: a school user needs both school processes Read-Write and a flagged base; an LA
user needs the level the action asks for. Each missing grant or flag refuses on its own."""
import pytest

from b2b_soap.setup import bases, groups, users
from b2b_soap.db import Base, User, session_scope
from b2b_soap.errors import BaseNotEnabled, PermissionDenied
from b2b_soap.security import (ADMINISTRATION, CONFLICTS, LA_PROCESSES, REPORTS, SCHOOL_PROCESSES, UNMATCHED,
                               check_school_access, la_refusal, user_permissions)

PASSWORD = "correct horse battery"
B2BS, DATA = SCHOOL_PROCESSES
BOTH = {B2BS: "Read-Write", DATA: "Read-Write"}


def _school(enabled=True):
    base = Base(laestab="9991001", name="School", b2b_enabled=enabled)
    return User(username="school", kind="school", base=base), base


def test_school_user_with_both_grants_and_flag_is_allowed():
    check_school_access(*_school(), BOTH)


@pytest.mark.parametrize("permissions, missing", [
    ({}, B2BS),
    ({B2BS: "Read-Write"}, DATA),
    ({DATA: "Read-Write"}, B2BS),
    ({B2BS: "Read", DATA: "Read-Write"}, B2BS),
    ({B2BS: "Read-Write", DATA: "None"}, DATA),
    ({p: "Read-Write" for p in LA_PROCESSES}, B2BS),
])
def test_each_missing_school_grant_refuses(permissions, missing):
    with pytest.raises(PermissionDenied, match=missing):
        check_school_access(*_school(), permissions)


def test_base_without_the_flag_refuses():
    with pytest.raises(BaseNotEnabled, match="9991001") as refused:
        check_school_access(*_school(enabled=False), BOTH)
    assert refused.value.code == "BaseNotEnabled"


def test_account_without_a_base_or_of_the_la_is_refused():
    user, base = _school()
    with pytest.raises(PermissionDenied):
        check_school_access(user, None, BOTH)
    with pytest.raises(PermissionDenied):
        check_school_access(User(username="la", kind="la"), base, BOTH)


@pytest.mark.parametrize("process", LA_PROCESSES)
def test_la_levels_gate_read_and_write(process):
    officer = User(username="officer", kind="la")
    assert "needs Read" in la_refusal(officer, {}, process, write=False)
    assert "needs Read" in la_refusal(officer, {process: "None"}, process, write=False)
    assert la_refusal(officer, {process: "Read"}, process, write=False) is None
    assert "needs Read-Write" in la_refusal(officer, {process: "Read"}, process, write=True)
    assert la_refusal(officer, {process: "Read-Write"}, process, write=True) is None
    others = {p: "Read-Write" for p in (UNMATCHED, CONFLICTS, REPORTS, ADMINISTRATION) if p != process}
    assert la_refusal(officer, others, process, write=False) is not None


def test_school_user_never_passes_an_la_check():
    user, _ = _school()
    assert la_refusal(user, {REPORTS: "Read-Write"}, REPORTS, write=False) == "only LA users may do this"


def test_permissions_come_from_groups_best_level_wins(ctx):
    """End to end on the database: grants reach users only through their groups."""
    with session_scope(ctx.sessions) as s:
        bases.add_base(s, "test", "9991001", "School", b2b_enabled=True)
        users.add_user(s, ctx.settings.security, "test", "school", PASSWORD, base="9991001")
        users.add_user(s, ctx.settings.security, "test", "officer", PASSWORD)
        for group, member, grants in (("Schools", "school", {B2BS: "Read-Write"}),
                                      ("Officers", "officer", {REPORTS: "Read"}),
                                      ("Writers", "officer", {REPORTS: "Read-Write", UNMATCHED: "None"})):
            groups.add_group(s, "test", group)
            groups.add_member(s, "test", group, member)
            for process, level in grants.items():
                groups.grant(s, "test", group, process, level)
    with session_scope(ctx.sessions) as s:
        school, officer = users.get_user(s, "school"), users.get_user(s, "officer")
        assert user_permissions(s, officer.id) == {REPORTS: "Read-Write"}
        with pytest.raises(PermissionDenied):
            check_school_access(school, school.base, user_permissions(s, school.id))
        groups.grant(s, "test", "Schools", DATA, "Read-Write")
    with session_scope(ctx.sessions) as s:
        school = users.get_user(s, "school")
        check_school_access(school, school.base, user_permissions(s, school.id))
        bases.set_b2b(s, "test", "9991001", False)
        with pytest.raises(BaseNotEnabled):
            check_school_access(school, school.base, user_permissions(s, school.id))
