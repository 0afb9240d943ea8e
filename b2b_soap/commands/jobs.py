"""``b2b-soap jobs``: the maintenance jobs (add, change, pause, resume, remove, list), run now, history."""
from __future__ import annotations

import argparse
import json

from ..maintenance import (ACTIONS, add_job, change_job, describe_jobs, list_runs, parse_job_args, remove_job,
                           run_now, run_to_dict, set_paused)
from .common import admin_session, cli_actor, context_from_args, emit, emit_one

__all__ = ["register"]

RUN_COLUMNS = ("id", "job", "action", "fire_time", "worker", "outcome", "finished_at", "counts", "error")
JOB_COLUMNS = ("name", "action", "trigger", "args", "paused", "available", "next_fire")


def _when(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--cron", metavar="EXPR", help='crontab expression, e.g. "30 1 * * *" (server local time)')
    when.add_argument("--every", type=int, metavar="SECONDS", help="interval in seconds")
    parser.add_argument("--arg", action="append", default=None, metavar="KEY=VALUE",
                        help="argument for the action, e.g. older_than_days=30 (repeatable)")


def _named(actions, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("name", metavar="JOB", help="the job's name (`jobs list`)")
    parser.set_defaults(handler=handler)
    return parser


def register(subparsers) -> None:
    parser = subparsers.add_parser("jobs", help="maintenance jobs: add, change, pause, remove, list, run now")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = _named(actions, "add", "add a scheduled job (picked up by every worker within reload_seconds)",
                 handle_jobs_add)
    add.add_argument("job_action", metavar="ACTION", choices=tuple(ACTIONS), help=", ".join(ACTIONS))
    add.add_argument("--paused", action="store_true", help="add it paused")
    _when(add)
    change = _named(actions, "set", "change a job's action, trigger or arguments", handle_jobs_set)
    change.add_argument("--action", dest="job_action", choices=tuple(ACTIONS), help="a new action")
    _when(change)
    change.add_argument("--no-args", action="store_true", help="remove every argument")
    _named(actions, "pause", "stop a job firing until resumed", handle_jobs_pause)
    _named(actions, "resume", "let a paused job fire again", handle_jobs_resume)
    _named(actions, "remove", "remove a job (its run history stays)", handle_jobs_remove)
    run = actions.add_parser("run", help="run a maintenance action now (recorded in the history)")
    run.add_argument("job_action", metavar="ACTION", choices=tuple(ACTIONS), help=", ".join(ACTIONS))
    run.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                     help="argument for the action, e.g. older_than_days=30 (repeatable)")
    run.set_defaults(handler=handle_jobs_run)
    history = actions.add_parser("history", help="recent runs, newest first")
    history.add_argument("--job", help="only this job (a job name, or the action for on-demand runs)")
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(handler=handle_jobs_history)
    listing = actions.add_parser("list", help="the scheduled jobs and when each fires next")
    listing.set_defaults(handler=handle_jobs_list)


def _run_row(run) -> dict:
    row = run_to_dict(run)
    row["counts"] = json.dumps(row["counts"]) if row["counts"] is not None else ""
    row["error"] = (row["error"] or "").splitlines()[0] if row["error"] else ""
    return row


def _show(args: argparse.Namespace, name: str) -> int:
    with context_from_args(args) as ctx:
        emit_one(args, next(job for job in describe_jobs(ctx) if job["name"] == name))
    return 0


def handle_jobs_add(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        add_job(session, cli_actor(), args.name, args.job_action, cron=args.cron, seconds=args.every,
                args=parse_job_args(args.arg or []), paused=args.paused)
    return _show(args, args.name)


def handle_jobs_set(args: argparse.Namespace) -> int:
    job_args = {} if args.no_args else (parse_job_args(args.arg) if args.arg is not None else None)
    with admin_session(args) as (_, session):
        change_job(session, cli_actor(), args.name, action=args.job_action, cron=args.cron, seconds=args.every,
                   args=job_args)
    return _show(args, args.name)


def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    with admin_session(args) as (_, session):
        set_paused(session, cli_actor(), args.name, paused)
    return _show(args, args.name)


def handle_jobs_pause(args: argparse.Namespace) -> int:
    return _set_paused(args, True)


def handle_jobs_resume(args: argparse.Namespace) -> int:
    return _set_paused(args, False)


def handle_jobs_remove(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        remove_job(session, cli_actor(), args.name)
    emit_one(args, {"name": args.name, "status": "removed"})
    return 0


def handle_jobs_run(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        run = run_now(ctx, args.job_action, parse_job_args(args.arg))
        emit_one(args, run_to_dict(run) if args.json else _run_row(run))
        return 0 if run.outcome == "ok" else 1


def handle_jobs_history(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with ctx.sessions() as session:
            runs = list_runs(session, args.job, args.limit)
            emit(args, [run_to_dict(r) if args.json else _run_row(r) for r in runs], RUN_COLUMNS)
    return 0


def handle_jobs_list(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        emit(args, describe_jobs(ctx), JOB_COLUMNS)
    return 0
