"""``b2b-soap tasks``: the LA's transfer tasks for one, several or all bases."""
from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy import select

from .. import tasks
from ..db import Base, ScheduledTask, session_scope
from ..errors import NotFound, ValidationFailed
from .common import cli_actor, context_from_args, emit, emit_one

__all__ = ["register"]

ACTOR = cli_actor()  # the operating-system user, as the set-up commands record it
COLUMNS = ("task_id", "base", "name", "data_type", "direction", "owner", "enabled", "frequency", "time_of_day",
           "days_of_week", "day_of_month", "nc_years", "version", "modified_at")


def _task_options(parser: argparse.ArgumentParser, new: bool) -> None:
    parser.add_argument("--name", required=new)
    parser.add_argument("--data-type", choices=tasks.DATA_TYPES, default="Student" if new else None)
    parser.add_argument("--direction", choices=tasks.DIRECTIONS, default="Export" if new else None)
    parser.add_argument("--frequency", choices=tasks.FREQUENCIES, required=new)
    parser.add_argument("--start-date", type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--time", dest="time_of_day", required=new, help="HH:MM")
    parser.add_argument("--days", dest="days_of_week", help="Weekly: e.g. Mon,Thu")
    parser.add_argument("--day-of-month", type=int, help="Monthly: 1..31")
    parser.add_argument("--ncy", dest="nc_years", help="NC years, e.g. R,1,2 (empty: all)")
    parser.add_argument("--include-leavers", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--enabled", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--aspect-hierarchy", dest="aspect_hierarchy_id", type=int,
                        help="aspect hierarchy id (Attainment tasks)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("tasks", help="transfer tasks schools' SIMS run")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="live tasks, all or one base's")
    listing.add_argument("--base", metavar="LAESTAB")
    listing.set_defaults(handler=handle_tasks_list)
    add = actions.add_parser("add", help="add an LA task to bases")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--base", action="append", metavar="LAESTAB", help="a base (repeat for several)")
    target.add_argument("--all-bases", action="store_true", help="every base flagged B2B Student Base")
    _task_options(add, new=True)
    add.set_defaults(handler=handle_tasks_add)
    change = actions.add_parser("update", help="change a task (only the options given)")
    change.add_argument("task_id", type=int)
    change.add_argument("--version", type=int, help="refuse if the task's version is no longer this")
    _task_options(change, new=False)
    change.set_defaults(handler=handle_tasks_update)
    remove = actions.add_parser("delete", help="delete a task (SIMS sees it gone on its next poll)")
    remove.add_argument("task_id", type=int)
    remove.set_defaults(handler=handle_tasks_delete)


def _given(args: argparse.Namespace) -> dict:
    keys = ("name", "data_type", "direction", "frequency", "start_date", "time_of_day", "days_of_week",
            "day_of_month", "nc_years", "include_leavers", "enabled", "aspect_hierarchy_id")
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def _rows(session, rows: list[ScheduledTask]) -> list[dict]:
    laestabs = dict(session.execute(select(Base.id, Base.laestab)).all())
    out = []
    for task in rows:
        row = tasks.task_to_dict(task)
        row.update(base=laestabs.get(task.base_id), days_of_week=",".join(row["days_of_week"]),
                   nc_years=",".join(row["nc_years"]))
        out.append(row)
    return out


def _base_ids(session, laestabs: list[str] | None, all_bases: bool) -> list[int]:
    if all_bases:
        ids = list(session.scalars(select(Base.id).where(Base.b2b_enabled.is_(True)).order_by(Base.laestab)))
        if not ids:
            raise ValidationFailed("no base is flagged B2B Student Base")
        return ids
    found = dict(session.execute(select(Base.laestab, Base.id).where(Base.laestab.in_(laestabs))).all())
    missing = [code for code in laestabs if code not in found]
    if missing:
        raise NotFound(f"unknown base {', '.join(missing)}")
    return [found[code] for code in dict.fromkeys(laestabs)]


def _run(args: argparse.Namespace, work) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            work(session)
    return 0


def handle_tasks_list(args: argparse.Namespace) -> int:
    def work(session):
        base_id = _base_ids(session, [args.base], False)[0] if args.base else None
        emit(args, _rows(session, tasks.list_tasks(session, base_id)), COLUMNS)
    return _run(args, work)


def handle_tasks_add(args: argparse.Namespace) -> int:
    def work(session):
        created = tasks.save_la_task(session, ACTOR, _base_ids(session, args.base, args.all_bases),
                                     dict(_given(args), task_id=0))
        emit(args, _rows(session, created), COLUMNS)
    return _run(args, work)


def handle_tasks_update(args: argparse.Namespace) -> int:
    def work(session):
        task = session.get(ScheduledTask, args.task_id)
        if task is None or task.deleted:
            raise NotFound(f"no scheduled task {args.task_id}")
        given = _given(args)
        data = tasks.task_to_dict(task)
        if "frequency" in given:  # the old schedule's days belong to the old frequency
            data.update(days_of_week=[], day_of_month=None)
        data.update(given)
        data["version"] = args.version if args.version is not None else task.version
        (saved,) = tasks.save_la_task(session, ACTOR, [], data)
        emit_one(args, _rows(session, [saved])[0])
    return _run(args, work)


def handle_tasks_delete(args: argparse.Namespace) -> int:
    def work(session):
        tasks.delete_la_task(session, ACTOR, args.task_id)
        print(f"task {args.task_id} deleted")
    return _run(args, work)
