"""School transfer tasks through SIMS' SOAP calls (real server, zeep): own tasks only; attainment alert."""
from __future__ import annotations

from pathlib import Path

import pytest
import zeep
from sqlalchemy import select

from b2b_soap import alerts, tasks
from b2b_soap.db import Alert, AspectHierarchy, AuditEntry, Base, ScheduledTask, session_scope
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, TNS, fault_code





@pytest.fixture
def env(tmp_path: Path, database_url: str):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school("9994000", "sims")
    with session_scope(environment.ctx.sessions) as s:
        s.add(AspectHierarchy(id=3, name="KS2 teacher assessment"))
        base_id = s.scalar(select(Base.id).where(Base.laestab == "9994000"))
        tasks.save_la_task(s, "la-admin", [base_id], {
            "name": "LA census pull", "data_type": "Student", "direction": "Export", "frequency": "Daily",
            "time_of_day": "02:00"})
    yield environment
    environment.close()


def _task(client, **values):
    defaults = dict(TaskId=0, Name="Nightly pupils", DataType="Student", Direction="Export", Enabled=True,
                    Frequency="Weekly", TimeOfDay="18:30", DaysOfWeek={"string": ["Mon"]},
                    NcYears={"string": ["R", "1"]}, IncludeLeavers=False)
    return client.get_type(f"{{{TNS}}}ScheduledTask")(**{**defaults, **values})


def test_school_manages_its_own_tasks_but_not_the_las(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        (la_task,) = sims.service.GetScheduledTasks()
        assert (la_task.Owner, la_task.Name) == ("LA", "LA census pull")

        own = sims.service.SaveScheduledTask(task=_task(sims))
        assert (own.Owner, own.Version, own.NcYears.string) == ("School", 1, ["R", "1"])
        own.Frequency, own.DaysOfWeek, own.DayOfMonth = "Monthly", None, 1
        changed = sims.service.SaveScheduledTask(task=own)
        assert (changed.Frequency, changed.DayOfMonth, changed.Version) == ("Monthly", 1, 2)
        with pytest.raises(zeep.exceptions.Fault) as stale:  # still version 1: someone else changed it
            sims.service.SaveScheduledTask(task=own)
        assert fault_code(stale.value, sims) == "ValidationFailed" and "fetch again" in stale.value.message
        with pytest.raises(zeep.exceptions.Fault) as bad:
            sims.service.SaveScheduledTask(task=_task(sims, TimeOfDay="7pm"))
        assert fault_code(bad.value, sims) == "ValidationFailed" and "HH:MM" in bad.value.message

        la_task.Name = "mine now"
        for call in (lambda: sims.service.SaveScheduledTask(task=la_task),
                     lambda: sims.service.DeleteScheduledTask(taskId=la_task.TaskId)):
            with pytest.raises(zeep.exceptions.Fault) as refused:
                call()
            assert fault_code(refused.value, sims) == "PermissionDenied"

        sims.service.DeleteScheduledTask(taskId=own.TaskId)
        assert [t.Owner for t in sims.service.GetScheduledTasks()] == ["LA"]
    with env.ctx.sessions() as s:
        assert s.get(ScheduledTask, own.TaskId).deleted and s.get(ScheduledTask, la_task.TaskId).name == "LA census pull"
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "scheduled_task",
                                                            AuditEntry.actor == "sims")).all()
        assert audited == ["task.create", "task.update", "task.delete"]
        assert s.scalars(select(Alert)).all() == []


def test_changing_an_attainment_task_raises_the_alert(env: ServiceEnv) -> None:
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        task = sims.service.SaveScheduledTask(task=_task(sims, DataType="Attainment", AspectHierarchyId=3))
        task.NcYears = {"string": ["6"]}
        sims.service.SaveScheduledTask(task=task)
        with pytest.raises(zeep.exceptions.Fault) as missing:
            sims.service.SaveScheduledTask(task=_task(sims, DataType="Attainment", AspectHierarchyId=99))
        assert fault_code(missing.value, sims) == "ValidationFailed"
    with env.ctx.sessions() as s:
        raised = s.scalars(select(Alert).order_by(Alert.id)).all()
    assert [a.trigger for a in raised] == [alerts.ATTAINMENT_TASK_ALTERED] * 2
    assert "9994000" in raised[-1].subject and "sims" in raised[-1].body and "'6'" in raised[-1].body
