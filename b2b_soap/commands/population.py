"""Population commands: ``person import``, ``person update`` and ``person show``."""
from __future__ import annotations

import argparse
import sys

from ..errors import ValidationFailed
from ..persons import (OPTIONAL_COLUMNS, REQUIRED_COLUMNS, get_person, import_persons_csv,
                             person_record, update_person)
from ..persons.fields import FIELDS
from .common import admin_session, cli_actor, emit, emit_one, options, person_id
from .progress import StderrProgress

__all__ = ["register", "EXIT_ROWS_SKIPPED"]

EXIT_ROWS_SKIPPED = 3  # the import was applied, but some rows were bad and left out
_SHOWN_PROBLEMS = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    opts = options()
    person = subparsers.add_parser("person", help="the LA population").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = person.add_parser("import", parents=[opts], help="load or update persons from CSV (upsert by id)",
                          description=f"Columns: {','.join(REQUIRED_COLUMNS)}; optional: "
                          f"{','.join(OPTIONAL_COLUMNS)}. Bad rows are reported and skipped (exit status "
                          f"{EXIT_ROWS_SKIPPED}); the good rows are applied in one transaction.")
    p.add_argument("csv", help="CSV file with a header row")
    p.set_defaults(handler=handle_person_import)
    p = person.add_parser("update", parents=[opts], help="change fields of one person (audited)")
    p.add_argument("id", help="the LA's person id (the CSV id), or #N for the internal id")
    for column in FIELDS:
        if column != "id":
            p.add_argument(f"--{column.replace('_', '-')}", dest=f"field_{column}", metavar="VALUE")
    p.set_defaults(handler=handle_person_update)
    p = person.add_parser("show", parents=[opts], help="one person")
    p.add_argument("id", help="the LA's person id, or #N for the internal id")
    p.set_defaults(handler=handle_person_show)


def _person_key(text: str) -> int | str:
    if not text.startswith("#"):
        return text
    try:
        return person_id(text)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None


def handle_person_import(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        report = import_persons_csv(session, args.csv, cli_actor(), StderrProgress())
    summary = report.summary()
    if getattr(args, "json", False):
        summary["skipped_rows"] = [{"row": p.row, "message": p.message} for p in report.skipped]
        summary["warning_rows"] = [{"row": p.row, "message": p.message} for p in report.warnings]
        emit_one(args, summary)
    else:
        emit_one(args, summary)
        for label, problems in (("skipped", report.skipped), ("warning", report.warnings)):
            for problem in problems[:_SHOWN_PROBLEMS]:
                print(f"{label}: line {problem.row}: {problem.message}", file=sys.stderr)
            if len(problems) > _SHOWN_PROBLEMS:
                print(f"{label}: ... and {len(problems) - _SHOWN_PROBLEMS} more (--json lists all)",
                      file=sys.stderr)
    return EXIT_ROWS_SKIPPED if report.skipped else 0


def handle_person_update(args: argparse.Namespace) -> int:
    changes = {c: getattr(args, f"field_{c}") for c in FIELDS
               if c != "id" and getattr(args, f"field_{c}") is not None}
    if not changes:
        raise ValidationFailed("nothing to change: give at least one --FIELD VALUE")
    with admin_session(args) as (_, session):
        result = update_person(session, cli_actor(), _person_key(args.id), changes)
    rows = [{"field": c, "before": b, "after": a} for c, (b, a) in result["changed"].items()]
    if getattr(args, "json", False):
        emit_one(args, result)
    elif rows:
        emit(args, rows, ["field", "before", "after"])
    else:
        print("no change: the values given are already stored")
    return 0


def handle_person_show(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        record = person_record(get_person(session, _person_key(args.id)))
    emit_one(args, record)
    return 0
