"""``b2b-soap aspect|hierarchy|attainment|suspense``: B2B Attainment for LA administrators."""
from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy.orm import Session

from ..attainment import hierarchies, results, suspense
from ..attainment.directories import waiting_files
from ..attainment.jobs import import_attainment
from ..context import AppContext
from ..db import session_scope
from ..licensing import ATTAINMENT_FEATURES, require_features
from .common import context_from_args, emit, emit_one, person_id

__all__ = ["register"]

ASPECT_COLUMNS = ("code", "name", "type", "grades", "min", "max", "ncys")
HIERARCHY_COLUMNS = ("id", "name", "description", "aspects")
FILE_COLUMNS = ("file_id", "status", "days_waiting", "written_at", "file_name", "error")
SUSPENSE_COLUMNS = ("id", "file_id", "upn", "surname", "forename", "ncy", "aspect_code", "value",
                    "collection_date", "status", "reason")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextmanager
def _session(args: argparse.Namespace) -> Iterator[tuple[AppContext, Session]]:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            yield ctx, session


def _csv(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _aspect_rows(aspects) -> list[dict]:
    rows = [hierarchies.aspect_to_dict(a) for a in aspects]
    return [{**r, "grades": ",".join(r["grades"]), "ncys": ",".join(r["ncys"])} for r in rows]


def _hierarchy_rows(session: Session, found) -> list[dict]:
    rows = [hierarchies.hierarchy_to_dict(session, h) for h in found]
    return [{**r, "aspects": ",".join(r["aspects"])} for r in rows]


def handle_aspect_add(args: argparse.Namespace) -> int:
    spec = hierarchies.AspectSpec(code=args.code, name=args.name, result_type=args.type,
                                  grades=_csv(args.grades),
                                  mark_min=args.min, mark_max=args.max, ncys=_csv(args.ncys))
    with _session(args) as (_, session):
        emit(args, _aspect_rows([hierarchies.add_aspect(session, _actor(), spec)]), ASPECT_COLUMNS)
    return 0


def handle_aspect_list(args: argparse.Namespace) -> int:
    with _session(args) as (_, session):
        emit(args, _aspect_rows(hierarchies.list_aspects(session)), ASPECT_COLUMNS)
    return 0


def handle_hierarchy_add(args: argparse.Namespace) -> int:
    spec = hierarchies.HierarchySpec(name=args.name, description=args.description, aspects=_csv(args.aspects))
    with _session(args) as (_, session):
        emit(args, _hierarchy_rows(session, [hierarchies.add_hierarchy(session, _actor(), spec)]),
             HIERARCHY_COLUMNS)
    return 0


def _emit_hierarchies(args: argparse.Namespace, find: Callable[[Session], list]) -> int:
    with _session(args) as (_, session):
        emit(args, _hierarchy_rows(session, find(session)), HIERARCHY_COLUMNS)
    return 0


def handle_hierarchy_list(args: argparse.Namespace) -> int:
    return _emit_hierarchies(args, hierarchies.list_hierarchies)


def handle_hierarchy_search(args: argparse.Namespace) -> int:
    return _emit_hierarchies(args, lambda session: hierarchies.search_hierarchies(session, args.prefix))


def handle_hierarchy_load(args: argparse.Namespace) -> int:
    with _session(args) as (_, session):
        emit_one(args, hierarchies.load_hierarchy_file(session, _actor(), args.file))
    return 0


def handle_attainment_import_now(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        counts = import_attainment(ctx, retry_failed=args.retry_failed, file_id=args.file_id, actor=_actor())
    emit_one(args, counts)
    return 0


def handle_attainment_files(args: argparse.Namespace) -> int:
    with _session(args) as (ctx, session):
        emit(args, waiting_files(session, ctx.settings, args.older_than), FILE_COLUMNS)
    return 0


def handle_attainment_delete_file(args: argparse.Namespace) -> int:
    with _session(args) as (ctx, session):
        emit_one(args, suspense.delete_import_file(session, ctx.settings, _actor(), args.file_id))
    return 0


def handle_attainment_results(args: argparse.Namespace) -> int:
    with _session(args) as (ctx, session):
        require_features(session, ctx.settings, *ATTAINMENT_FEATURES)
        rows = results.query_results(session, base=args.base, hierarchy=args.hierarchy, aspect=args.aspect,
                                     ncy=args.ncy, limit=args.limit)
    if args.csv == "-":
        results.write_results_csv(rows, sys.stdout)
    elif args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            count = results.write_results_csv(rows, out)
        print(f"{count} results written to {args.csv}", file=sys.stderr)
    else:
        emit(args, rows, results.RESULT_COLUMNS)
    return 0


def handle_suspense_list(args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status
    with _session(args) as (_, session):
        items = suspense.list_suspense(session, file_id=args.file_id, status=status, limit=args.limit)
        emit(args, [suspense.suspense_to_dict(i) for i in items], SUSPENSE_COLUMNS)
    return 0


def handle_suspense_resolve(args: argparse.Namespace) -> int:
    with _session(args) as (ctx, session):
        emit_one(args, suspense.resolve_suspense(session, ctx.settings, _actor(), args.id,
                                                 person_id=args.person,
                                                 aspect_code=args.aspect, discard=args.discard))
    return 0


def _register_aspect(subparsers) -> None:
    actions = subparsers.add_parser("aspect", help="attainment aspects (result types)").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an aspect")
    add.add_argument("code", help="code used in attainment files, e.g. KS2_MAT")
    add.add_argument("name")
    add.add_argument("--type", required=True, choices=hierarchies.RESULT_TYPES)
    add.add_argument("--grades", default="", help="grade set, comma-separated (grade aspects)")
    add.add_argument("--min", type=float, help="lowest mark (mark aspects)")
    add.add_argument("--max", type=float, help="highest mark (mark aspects)")
    add.add_argument("--ncys", default="", help="NCYs it applies to, comma-separated (R,1,2)")
    add.set_defaults(handler=handle_aspect_add)
    actions.add_parser("list", help="list aspects").set_defaults(handler=handle_aspect_list)


def _register_hierarchy(subparsers) -> None:
    actions = subparsers.add_parser("hierarchy", help="aspect hierarchies").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a hierarchy of existing aspects")
    add.add_argument("name", help='e.g. "B2B KS2 2026"')
    add.add_argument("--aspects", required=True, help="aspect codes in order, comma-separated")
    add.add_argument("--description", default="")
    add.set_defaults(handler=handle_hierarchy_add)
    actions.add_parser("list", help="list hierarchies").set_defaults(handler=handle_hierarchy_list)
    load = actions.add_parser("load", help="add or update aspects and hierarchies from a JSON or CSV file")
    load.add_argument("file", type=Path)
    load.set_defaults(handler=handle_hierarchy_load)
    search = actions.add_parser("search", help="hierarchies whose name starts with PREFIX (any case)")
    search.add_argument("prefix")
    search.set_defaults(handler=handle_hierarchy_search)


def _register_attainment(subparsers) -> None:
    actions = subparsers.add_parser("attainment", help="attainment files and results").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    now = actions.add_parser("import-now", help="run the attainment import job now")
    now.add_argument("--retry-failed", action="store_true", help="retry files that failed before")
    now.add_argument("--file-id", help="only this file")
    now.set_defaults(handler=handle_attainment_import_now)
    listing = actions.add_parser("files", help="files still in the import directory")
    listing.add_argument("--older-than", type=int, metavar="DAYS", help="only files waiting longer than DAYS")
    listing.set_defaults(handler=handle_attainment_files)
    delete = actions.add_parser("delete-file", help="delete a waiting, failed or suspended file (audited)")
    delete.add_argument("file_id")
    delete.set_defaults(handler=handle_attainment_delete_file)
    out = actions.add_parser("results", help="imported results; --csv for analysis")
    out.add_argument("--base", metavar="LAESTAB")
    out.add_argument("--hierarchy", help="hierarchy name or id")
    out.add_argument("--aspect", metavar="CODE")
    out.add_argument("--ncy")
    out.add_argument("--limit", type=int)
    out.add_argument("--csv", metavar="OUT", help="write CSV to OUT ('-' for standard output)")
    out.set_defaults(handler=handle_attainment_results)


def _register_suspense(subparsers) -> None:
    actions = subparsers.add_parser(
        "suspense", help="attainment results that could not be placed").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list suspense items")
    listing.add_argument("--file-id")
    listing.add_argument("--status", default="open", choices=("open", "resolved", "discarded", "all"))
    listing.add_argument("--limit", type=int)
    listing.set_defaults(handler=handle_suspense_list)
    resolve = actions.add_parser("resolve", help="match the pupil, map the aspect, or discard")
    resolve.add_argument("id", type=int)
    how = resolve.add_mutually_exclusive_group(required=True)
    how.add_argument("--person", type=person_id, metavar="PERSON_ID", help="the pupil is this person (#N or N)")
    how.add_argument("--aspect", metavar="CODE", help="the result is for this aspect")
    how.add_argument("--discard", action="store_true", help="drop the result")
    resolve.set_defaults(handler=handle_suspense_resolve)


def register(subparsers) -> None:
    _register_aspect(subparsers)
    _register_hierarchy(subparsers)
    _register_attainment(subparsers)
    _register_suspense(subparsers)
