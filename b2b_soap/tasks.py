"""Transfer tasks: what a base's SIMS sends to the LA or fetches from it, and when.

The LA defines tasks for one or many bases (owner ``LA``); a school defines its own
through SIMS (owner ``School``) and may change or delete only those. Every change bumps
``version`` (optimistic concurrency, and how SIMS notices a change on its next poll),
stamps ``modified_at`` and is audited with the state before and after. A delete is soft:
the row stays with ``deleted`` set so the change is versioned like any other.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import alerts
from .config import Settings
from .db import AspectHierarchy, Base, ScheduledTask, User, utcnow
from .errors import NotFound, PermissionDenied, ValidationFailed
from .security import ADMINISTRATION, audit, check_la_access

__all__ = ["DATA_TYPES", "DIRECTIONS", "FREQUENCIES", "DAYS_OF_WEEK", "NC_YEARS", "task_to_dict",
           "list_base_tasks", "list_tasks", "save_school_task", "delete_school_task", "save_la_task",
           "delete_la_task"]

DATA_TYPES = ("Student", "Attainment")
DIRECTIONS = ("Export", "Import")
FREQUENCIES = ("Once", "Daily", "Weekly", "Monthly")
DAYS_OF_WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NC_YEARS = ("N1", "N2", "R") + tuple(str(n) for n in range(1, 15))
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_STALE = "the task was changed by someone else; fetch again and reapply your change"


def task_to_dict(task: ScheduledTask) -> dict[str, Any]:
    """A task as plain data: what SIMS, the CLI and the audit log see."""
    return {
        "task_id": task.id, "base_id": task.base_id, "name": task.name, "data_type": task.data_type,
        "direction": task.direction, "enabled": task.enabled, "owner": task.owner,
        "frequency": task.frequency, "start_date": task.start_date.isoformat() if task.start_date else None,
        "time_of_day": task.time_of_day, "days_of_week": _split(task.days_of_week),
        "day_of_month": task.day_of_month, "nc_years": _split(task.nc_years),
        "include_leavers": task.include_leavers, "aspect_hierarchy_id": task.aspect_hierarchy_id,
        "version": task.version, "deleted": task.deleted,
        "modified_at": task.modified_at.isoformat() if task.modified_at else None,
        "modified_by": task.modified_by,
    }


def _split(text: str) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def _choice(data: dict, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(key) or default
    if value not in choices:
        raise ValidationFailed(f"{key} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _list(data: dict, key: str, choices: tuple[str, ...]) -> list[str]:
    raw = data.get(key) or []
    values = [raw] if isinstance(raw, str) else [str(v).strip() for v in raw]
    values = [v for part in values for v in part.split(",") if v]
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ValidationFailed(f"{key}: unknown value(s) {', '.join(unknown)}; allowed: {', '.join(choices)}")
    return [c for c in choices if c in values]  # canonical order, no repeats


def _start_date(data: dict) -> date | None:
    value = data.get("start_date")
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationFailed(f"start_date must be a date (YYYY-MM-DD), not {value!r}") from None


def _validated(session: Session, data: dict) -> dict[str, Any]:
    """Check a task as sent and return the column values to store."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("name is required and must be at most 100 characters")
    data_type = _choice(data, "data_type", DATA_TYPES)
    frequency = _choice(data, "frequency", FREQUENCIES)
    time_of_day = str(data.get("time_of_day") or "")
    if not _TIME.match(time_of_day):
        raise ValidationFailed(f"time_of_day must be HH:MM (24-hour), not {time_of_day!r}")
    start_date = _start_date(data)
    if frequency == "Once" and start_date is None:
        raise ValidationFailed("a task that runs Once needs a start_date")
    days = _list(data, "days_of_week", DAYS_OF_WEEK)
    if frequency == "Weekly" and not days:
        raise ValidationFailed("a Weekly task needs at least one day in days_of_week (Mon..Sun)")
    if frequency != "Weekly" and days:
        raise ValidationFailed(f"days_of_week is only used by Weekly tasks, not {frequency}")
    day_of_month = data.get("day_of_month") or None
    if frequency == "Monthly":
        if not isinstance(day_of_month, int) or not 1 <= day_of_month <= 31:
            raise ValidationFailed(f"a Monthly task needs day_of_month 1..31, not {day_of_month!r}")
    elif day_of_month is not None:
        raise ValidationFailed(f"day_of_month is only used by Monthly tasks, not {frequency}")
    hierarchy_id = data.get("aspect_hierarchy_id") or None
    if data_type == "Attainment":
        if hierarchy_id is None:
            raise ValidationFailed("an Attainment task needs an aspect_hierarchy_id")
        if session.get(AspectHierarchy, hierarchy_id) is None:
            raise ValidationFailed(f"aspect hierarchy {hierarchy_id} does not exist")
    elif hierarchy_id is not None:
        raise ValidationFailed("aspect_hierarchy_id is only used by Attainment tasks")
    return {
        "name": name, "data_type": data_type, "direction": _choice(data, "direction", DIRECTIONS),
        "enabled": bool(data.get("enabled", True)), "frequency": frequency, "start_date": start_date,
        "time_of_day": time_of_day, "days_of_week": ",".join(days), "day_of_month": day_of_month,
        "nc_years": ",".join(_list(data, "nc_years", NC_YEARS)),
        "include_leavers": bool(data.get("include_leavers", False)), "aspect_hierarchy_id": hierarchy_id,
    }


def _actor_name(actor: User | str) -> str:
    return actor if isinstance(actor, str) else actor.username


def _check_la(session: Session, actor: User | str) -> None:
    """LA users need Read-Write on Administration; a plain name is a trusted caller (the CLI)."""
    if isinstance(actor, User):
        check_la_access(session, actor, ADMINISTRATION, write=True)


def _live_task(session: Session, task_id: Any, base_id: int | None = None) -> ScheduledTask:
    task = session.get(ScheduledTask, int(task_id)) if str(task_id).isdigit() else None
    if task is None or task.deleted or (base_id is not None and task.base_id != base_id):
        raise NotFound(f"no scheduled task {task_id}")
    return task


def _create(session: Session, actor: str, base_id: int, owner: str, values: dict) -> ScheduledTask:
    task = ScheduledTask(base_id=base_id, owner=owner, version=1, deleted=False, modified_at=utcnow(),
                         modified_by=actor, **values)
    session.add(task)
    session.flush()
    audit(session, actor, "task.create", "scheduled_task", task.id, None, task_to_dict(task))
    return task


def _change(session: Session, actor: str, task: ScheduledTask, expected_version: Any,
            values: dict, action: str) -> ScheduledTask:
    """Apply ``values`` only if nobody changed the task since ``expected_version``."""
    if expected_version is not None and expected_version != task.version:
        raise ValidationFailed(_STALE)
    before = task_to_dict(task)
    # The version guard in the UPDATE itself makes two concurrent saves of one version safe.
    result = session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.id == task.id, ScheduledTask.version == task.version)
        .values(version=task.version + 1, modified_at=utcnow(), modified_by=actor, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationFailed(_STALE)
    session.refresh(task)
    audit(session, actor, action, "scheduled_task", task.id, before, task_to_dict(task))
    return task


def list_base_tasks(session: Session, base_id: int) -> list[ScheduledTask]:
    """A base's live tasks (LA's and its own), what ``GetScheduledTasks`` returns."""
    return list(session.scalars(select(ScheduledTask)
                                .where(ScheduledTask.base_id == base_id, ScheduledTask.deleted.is_(False))
                                .order_by(ScheduledTask.id)))


def list_tasks(session: Session, base_id: int | None = None) -> list[ScheduledTask]:
    """Every live task, or one base's."""
    query = select(ScheduledTask).where(ScheduledTask.deleted.is_(False))
    if base_id is not None:
        query = query.where(ScheduledTask.base_id == base_id)
    return list(session.scalars(query.order_by(ScheduledTask.base_id, ScheduledTask.id)))


def _attainment_alert(session: Session, settings: Settings, actor: User, base: Base, verb: str,
                      task: ScheduledTask, before: dict | None) -> None:
    body = (f"School user {actor.username} at base {base.laestab} ({base.name}) {verb} the attainment "
            f"import task {task.id} {task.name!r}.\n\nBefore: {before}\nAfter: {task_to_dict(task)}\n")
    alerts.raise_alert(session, settings, alerts.ATTAINMENT_TASK_ALTERED,
                       f"{alerts.ATTAINMENT_TASK_ALTERED}: {base.laestab} task {task.id}", body)


def save_school_task(session: Session, settings: Settings, actor: User, base: Base,
                     data: dict) -> ScheduledTask:
    """Create (task_id 0 or None) or change one of the school's own tasks; returns it as saved.

    Raises:
        NotFound: the task does not exist or belongs to another base.
        PermissionDenied: the task is the LA's.
        ValidationFailed: a bad value, or ``version`` is not the stored one.
    """
    values = _validated(session, data)
    task_id = data.get("task_id") or 0
    if not task_id:
        task = _create(session, actor.username, base.id, "School", values)
        before = None
    else:
        task = _live_task(session, task_id, base.id)
        if task.owner != "School":
            raise PermissionDenied(f"task {task.id} is defined by the LA; a school may change only its own tasks")
        before = task_to_dict(task)
        _change(session, actor.username, task, data.get("version"), values, "task.update")
    if "Attainment" in (task.data_type, (before or {}).get("data_type")):
        _attainment_alert(session, settings, actor, base, "created" if before is None else "changed", task, before)
    return task


def delete_school_task(session: Session, actor: User, base: Base, task_id: int,
                       settings: Settings | None = None) -> None:
    """Soft-delete one of the school's own tasks (LA tasks refuse with PermissionDenied)."""
    task = _live_task(session, task_id, base.id)
    if task.owner != "School":
        raise PermissionDenied(f"task {task.id} is defined by the LA; a school may delete only its own tasks")
    before = task_to_dict(task)
    _change(session, actor.username, task, None, {"deleted": True}, "task.delete")
    if settings is not None and task.data_type == "Attainment":
        _attainment_alert(session, settings, actor, base, "deleted", task, before)


def save_la_task(session: Session, actor: User | str, base_ids: list[int], data: dict) -> list[ScheduledTask]:
    """Create an LA task on each base (task_id 0), or change one existing task (any owner).

    A change keeps the task on its base; ``base_ids`` must then be empty or name that base.
    """
    _check_la(session, actor)
    name = _actor_name(actor)
    values = _validated(session, data)
    task_id = data.get("task_id") or 0
    if task_id:
        task = _live_task(session, task_id)
        if base_ids and list(set(base_ids)) != [task.base_id]:
            raise ValidationFailed("an existing task stays on its base; create a new task for other bases")
        return [_change(session, name, task, data.get("version"), values, "task.update")]
    if not base_ids:
        raise ValidationFailed("name at least one base for a new task")
    known = set(session.scalars(select(Base.id).where(Base.id.in_(base_ids))))
    missing = sorted(set(base_ids) - known)
    if missing:
        raise NotFound(f"no base with id {', '.join(map(str, missing))}")
    return [_create(session, name, base_id, "LA", values) for base_id in dict.fromkeys(base_ids)]


def delete_la_task(session: Session, actor: User | str, task_id: int) -> None:
    """Soft-delete any task (the LA may remove a school's task too)."""
    _check_la(session, actor)
    task = _live_task(session, task_id)
    _change(session, _actor_name(actor), task, None, {"deleted": True}, "task.delete")
