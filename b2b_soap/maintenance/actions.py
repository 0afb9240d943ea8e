"""The maintenance actions: plain functions ``action(ctx, **args) -> counts``.

The scheduler, ``b2b-soap jobs run`` and the admin service all find them by name in
``ACTIONS``; tests call them directly. Each works set-based or in batches so it
stays fast on a large LA, and leaves alone every row it must not touch.
"""
from __future__ import annotations

import inspect
import threading
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import and_, delete, func, or_, select, update

from .. import alerts
from ..db import Alert, Base, CacheEntry, Conflict, IncomingRecord, JobRun, Person, session_scope, utcnow
from ..attainment.jobs import import_attainment
from ..defaults import load_defaults
from ..errors import ValidationFailed
from ..files.deletion import delete_files
from ..operations.retention import run_retention
from ..processing.after_match import PERSON_FIELDS, person_value, same_value
from ..review.unmatched import years_before

__all__ = ["ACTIONS", "resolve_action", "check_action_args", "clear_conflicts", "clear_cache", "retention", "unmatched_waiting"]

Action = Callable[..., dict]

BATCH = 1000


def clear_conflicts(ctx, stop: threading.Event | None = None) -> dict[str, int]:
    """Close (status ``cleared``) every open conflict whose LA value now equals the incoming value.

    Equal as conflict detection sees it (``same_value``: case, spacing, postcode spaces), with
    the LA value read from the person now. Works through the open conflicts in batches of
    ``BATCH`` by id, one transaction each, and stops between batches on ``stop``.
    """
    cleared, after = 0, 0
    while not (stop and stop.is_set()):
        with session_scope(ctx.sessions) as session:
            rows = session.execute(select(Conflict.id, Conflict.field, Conflict.incoming_value, Person)
                                   .join(Person, Person.id == Conflict.person_id)
                                   .where(Conflict.status == "open", Conflict.id > after)
                                   .order_by(Conflict.id).limit(BATCH)).all()
            if not rows:
                break
            after = rows[-1].id
            equal = [row.id for row in rows if row.field in PERSON_FIELDS
                     and same_value(row.field, person_value(row.Person, row.field), row.incoming_value)]
            if equal:
                cleared += session.execute(
                    update(Conflict).where(Conflict.id.in_(equal), Conflict.status == "open")
                    .values(status="cleared", resolved_at=utcnow(), resolved_by="job:clear_conflicts")
                    .execution_options(synchronize_session=False)).rowcount
    return {"cleared": cleared}


def clear_cache(ctx, older_than_days: int | None = None, stop: threading.Event | None = None) -> dict[str, int]:
    """Flush the B2B cache: every entry, or those cached more than ``older_than_days`` ago."""
    query = delete(CacheEntry)
    if older_than_days is not None:
        query = query.where(CacheEntry.cached_at < utcnow() - timedelta(days=int(older_than_days)))
    with session_scope(ctx.sessions) as session:
        return {"deleted": session.execute(query).rowcount}


def retention(ctx, days: int = 365, stop: threading.Event | None = None) -> dict[str, int]:
    """Prune the job run history and delivered or logged alerts older than ``days``."""
    cutoff = utcnow() - timedelta(days=int(days))
    with session_scope(ctx.sessions) as session:
        runs = session.execute(delete(JobRun).where(JobRun.started_at < cutoff,
                                                    JobRun.outcome != "running")).rowcount
        alerts = session.execute(delete(Alert).where(and_(Alert.created_at < cutoff,
                                                          Alert.status.in_(("sent", "logged"))))).rowcount
    return {"job_runs_deleted": runs, "alerts_deleted": alerts}


def unmatched_waiting(ctx, older_than_hours: int = 24, stop: threading.Event | None = None) -> dict[str, int]:
    """Raise one "Unmatched pupils waiting" alert per base whose unmatched pupils (those the Unmatched
    list shows) have waited longer than ``older_than_hours`` for an LA decision."""
    cutoff = utcnow() - timedelta(hours=int(older_than_hours))
    with session_scope(ctx.sessions) as session:
        oldest_dob = years_before(date.today(), load_defaults(session, ctx.settings).b2b_s_age + 1)
        waiting = session.execute(
            select(Base.laestab, Base.name, func.count(), func.min(IncomingRecord.received_at))
            .join(Base, Base.id == IncomingRecord.base_id)
            .where(IncomingRecord.status == "unmatched", IncomingRecord.kind == "pupil",
                   IncomingRecord.received_at < cutoff,
                   or_(IncomingRecord.dob.is_(None), IncomingRecord.dob > oldest_dob))
            .group_by(Base.laestab, Base.name).order_by(Base.laestab)).all()
        for laestab, name, count, since in waiting:
            alerts.raise_alert(
                session, ctx.settings, alerts.UNMATCHED_WAITING,
                f"{alerts.UNMATCHED_WAITING}: {count} from {laestab}",
                f"{count} unmatched pupil(s) from base {laestab} ({name}) have waited more than "
                f"{older_than_hours} hours for an LA decision, the oldest since {since:%Y-%m-%d %H:%M} UTC.\n\n"
                f"Decide them in Incoming Students: Unmatched (b2b-soap review unmatched --base {laestab}).")
    return {"bases": len(waiting), "pupils": sum(row[2] for row in waiting)}


ACTIONS: dict[str, Action] = {
    "clear_conflicts": clear_conflicts,
    "delete_files": delete_files,
    "clear_cache": clear_cache,
    "retention": retention,
    "attainment_import": import_attainment,
    "data_retention": run_retention,
    "unmatched_waiting": unmatched_waiting,
}


def resolve_action(name: str) -> Action:
    """The function behind an action name; ValidationFailed when there is none."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise ValidationFailed(f"unknown action {name!r}; known: {', '.join(ACTIONS)}") from None


def _is_count(annotation: Any) -> bool:
    return "int" in str(annotation).split(" | ")


def check_action_args(name: str, args: dict[str, Any]) -> None:
    """Refuse, before anything runs, an argument the action does not take or a count (days, hours)
    that is not a whole number 0 or more."""
    parameters = inspect.signature(resolve_action(name)).parameters
    takes = [p for p in parameters if p not in ("ctx", "stop")]
    for key, value in args.items():
        if key not in takes:
            raise ValidationFailed(f"action {name} takes no argument {key!r}; it takes: {', '.join(takes) or 'none'}")
        if _is_count(parameters[key].annotation) and (isinstance(value, bool) or not isinstance(value, int)
                                                     or value < 0):
            raise ValidationFailed(f"{key} must be a whole number, 0 or more (not {value!r})")

