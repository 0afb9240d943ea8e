"""Admin operations for transfer tasks: ListTasks, SaveTask (one or many bases), DeleteTask."""
from __future__ import annotations

from spyne import Long, Unicode
from sqlalchemy import select

from ... import tasks
from ...db import Base
from ...errors import NotFound
from ...security import ADMINISTRATION
from ..school import _task_in, _task_out, wsdl_task_fields
from ..types import ArrayOfScheduledTask, ScheduledTask, StringArray
from .base import AdminCall, AdminService, admin_operation

__all__ = ["TasksAdmin", "SERVICE"]


def _base_ids(call: AdminCall, laestabs: list[str]) -> list[int]:
    found = dict(call.session.execute(select(Base.laestab, Base.id).where(Base.laestab.in_(laestabs))).all())
    missing = [code for code in laestabs if code not in found]
    if missing:
        raise NotFound(f"unknown base {', '.join(missing)}")
    return [found[code] for code in dict.fromkeys(laestabs)]


class TasksAdmin(AdminService):
    @admin_operation(ADMINISTRATION, Unicode, _returns=ArrayOfScheduledTask)
    def ListTasks(call: AdminCall, laestab):
        """Live tasks of one base (``laestab``) or of every base (empty)."""
        base_id = _base_ids(call, [laestab])[0] if laestab else None
        return [_task_out(t) for t in tasks.list_tasks(call.session, base_id)]

    @admin_operation(ADMINISTRATION, StringArray, ScheduledTask, write=True, _returns=ArrayOfScheduledTask)
    def SaveTask(call: AdminCall, laestabs, task):
        """TaskId 0: one new LA task per base in ``laestabs``; else change that task (Version checked)."""
        with wsdl_task_fields():
            saved = tasks.save_la_task(call.session, call.user, _base_ids(call, list(laestabs or [])), _task_in(task))
        call.session.flush()
        return [_task_out(t) for t in saved]

    @admin_operation(ADMINISTRATION, Long, write=True)
    def DeleteTask(call: AdminCall, taskId):
        tasks.delete_la_task(call.session, call.user, taskId or 0)


SERVICE = TasksAdmin
