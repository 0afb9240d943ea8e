"""Transfer tasks: school and LA rules, validation, versioning, audit and the attainment alert."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from b2b_soap import alerts, tasks
from b2b_soap.db import Alert, AspectHierarchy, AuditEntry, Base, ScheduledTask, User, session_scope
from b2b_soap.errors import NotFound, PermissionDenied, ValidationFailed

WEEKLY = {"task_id": 0, "name": "Census export", "data_type": "Student", "direction": "Export",
          "enabled": True, "frequency": "Weekly", "start_date": date(2026, 1, 5), "time_of_day": "18:30",
          "days_of_week": ["Fri", "Mon"], "nc_years": ["R", "1", "2"], "include_leavers": False}


@pytest.fixture
def world(ctx):
    with session_scope(ctx.sessions) as s:
        s.add_all([Base(id=1, laestab="9991001", name="Alpha", b2b_enabled=True),
                   Base(id=2, laestab="9991002", name="Beta", b2b_enabled=True),
                   AspectHierarchy(id=7, name="KS2")])
        s.flush()
        s.add_all([User(id=1, username="alpha", password_hash="x", kind="school", base_id=1),
                   User(id=2, username="beta", password_hash="x", kind="school", base_id=2)])
    return ctx


def _school(s, n):
    return s.get(User, n), s.get(Base, n)


def test_school_creates_changes_and_deletes_its_own_task(world):
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        task = tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY))
        assert (task.owner, task.version, task.days_of_week, task.nc_years) == ("School", 1, "Mon,Fri", "R,1,2")
        task_id = task.id
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        changed = tasks.save_school_task(s, world.settings, user, base,
                                         dict(WEEKLY, task_id=task_id, version=1, time_of_day="07:00"))
        assert (changed.version, changed.time_of_day) == (2, "07:00")
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        with pytest.raises(ValidationFailed, match="changed by someone else"):
            tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY, task_id=task_id, version=1))
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        tasks.delete_school_task(s, user, base, task_id)
    with session_scope(world.sessions) as s:
        row = s.get(ScheduledTask, task_id)
        assert row.deleted and row.version == 3
        assert tasks.list_base_tasks(s, 1) == []
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(task_id))
                            .order_by(AuditEntry.id)).all()
        assert actions == ["task.create", "task.update", "task.delete"]
        assert s.scalars(select(Alert)).all() == []


def test_la_tasks_and_other_bases_are_out_of_reach(world):
    with session_scope(world.sessions) as s:
        la_tasks = tasks.save_la_task(s, "admin", [1, 2], dict(WEEKLY, name="LA pull"))
        assert [(t.base_id, t.owner) for t in la_tasks] == [(1, "LA"), (2, "LA")]
        user, base = _school(s, 2)
        beta_task = tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY))
        ids = la_tasks[0].id, beta_task.id
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        with pytest.raises(PermissionDenied):
            tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY, task_id=ids[0], version=1))
        with pytest.raises(PermissionDenied):
            tasks.delete_school_task(s, user, base, ids[0])
        with pytest.raises(NotFound):
            tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY, task_id=ids[1], version=1))
        with pytest.raises(NotFound):
            tasks.delete_school_task(s, user, base, 99999)
        assert [t.owner for t in tasks.list_base_tasks(s, 1)] == ["LA"]
        assert len(tasks.list_tasks(s)) == 3


@pytest.mark.parametrize("change, message", [
    ({"name": ""}, "name is required"),
    ({"data_type": "Grades"}, "data_type must be one of"),
    ({"direction": "Sideways"}, "direction must be one of"),
    ({"frequency": "Hourly"}, "frequency must be one of"),
    ({"time_of_day": "25:00"}, "HH:MM"),
    ({"days_of_week": []}, "at least one day"),
    ({"days_of_week": ["Funday"]}, "unknown value"),
    ({"nc_years": ["15"]}, "nc_years: unknown value"),
    ({"frequency": "Monthly", "days_of_week": [], "day_of_month": 32}, "day_of_month 1..31"),
    ({"frequency": "Once", "days_of_week": [], "start_date": None}, "needs a start_date"),
    ({"data_type": "Attainment"}, "needs an aspect_hierarchy_id"),
    ({"data_type": "Attainment", "aspect_hierarchy_id": 99}, "does not exist"),
    ({"aspect_hierarchy_id": 7}, "only used by Attainment"),
])
def test_validation_names_the_problem(world, change, message):
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        with pytest.raises(ValidationFailed, match=message):
            tasks.save_school_task(s, world.settings, user, base, dict(WEEKLY, **change))


def test_changing_an_attainment_task_raises_the_alert(world):
    attainment = dict(WEEKLY, data_type="Attainment", aspect_hierarchy_id=7)
    with session_scope(world.sessions) as s:
        user, base = _school(s, 1)
        task_id = tasks.save_school_task(s, world.settings, user, base, attainment).id
        tasks.save_school_task(s, world.settings, user, base, dict(attainment, task_id=task_id, version=1,
                                                                     nc_years=["6"]))
    with session_scope(world.sessions) as s:
        rows = s.scalars(select(Alert).order_by(Alert.id)).all()
        assert [a.trigger for a in rows] == [alerts.ATTAINMENT_TASK_ALTERED] * 2
        assert "9991001" in rows[1].subject and "alpha" in rows[1].body
        assert rows[1].status == "logged"  # no SMTP host configured
