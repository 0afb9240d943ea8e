"""``b2b-soap jobs``: run a maintenance action now, list the configured jobs, show the run history."""
from __future__ import annotations

import argparse
import json

from ..maintenance import ACTIONS, describe_jobs, list_runs, parse_job_args, run_now, run_to_dict
from .common import context_from_args, emit, emit_one

__all__ = ["register", "handler_run", "handler_history", "handler_list"]

RUN_COLUMNS = ("id", "job", "action", "fire_time", "worker", "outcome", "finished_at", "counts", "error")


def register(subparsers) -> None:
    parser = subparsers.add_parser("jobs", help="maintenance jobs: run now, list, history")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run a maintenance action now (recorded in the history)")
    run.add_argument("job_action", metavar="ACTION", choices=tuple(ACTIONS), help=", ".join(ACTIONS))
    run.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                     help="argument for the action, e.g. older_than_days=30 (repeatable)")
    run.set_defaults(handler=handler_run)
    history = actions.add_parser("history", help="recent runs, newest first")
    history.add_argument("--job", help="only this job (a configured name, or the action for on-demand runs)")
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(handler=handler_history)
    listing = actions.add_parser("list", help="configured jobs and when each fires next")
    listing.set_defaults(handler=handler_list)


def _run_row(run) -> dict:
    row = run_to_dict(run)
    row["counts"] = json.dumps(row["counts"]) if row["counts"] is not None else ""
    row["error"] = (row["error"] or "").splitlines()[0] if row["error"] else ""
    return row


def handler_run(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        run = run_now(ctx, args.job_action, parse_job_args(args.arg))
        emit_one(args, run_to_dict(run) if args.json else _run_row(run))
        return 0 if run.outcome == "ok" else 1


def handler_history(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with ctx.sessions() as session:
            runs = list_runs(session, args.job, args.limit)
            emit(args, [run_to_dict(r) if args.json else _run_row(r) for r in runs], RUN_COLUMNS)
    return 0


def handler_list(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        emit(args, describe_jobs(ctx), ("name", "action", "trigger", "args", "available", "next_fire"))
    return 0
