"""``b2b-soap process``, ``import``, ``files``, ``review``, ``conflicts`` and ``report``:
processing of received files and the LA's review, from the command line.

The CLI acts as the local administrator (actor ``cli``): it has every permission, and
each action is audited like the same action through the admin service.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import review
from ..attainment.jobs import import_attainment
from ..db import VirtualFile, session_scope
from ..processing import run_pending
from .common import cli_actor, context_from_args, emit, emit_one, person_id

__all__ = ["register"]

ACTOR = cli_actor()  # the operating-system user, as the set-up commands record it
UNMATCHED_COLUMNS = ("id", "base", "forename", "surname", "dob", "age", "ncy", "postcode", "decision",
                     "has_candidates", "received_at")
CONFLICT_COLUMNS = ("id", "person_id", "forename", "surname", "field", "la_value", "incoming_value", "base",
                    "status", "created_at")
FILE_COLUMNS = ("id", "base", "file_name", "status", "source", "received_at", "processed_at", "pupils",
                "matched", "unmatched", "conflicts", "failure")
RESULT_COLUMNS = ("file_id", "status", "pupils", "matched", "unmatched", "conflicts", "message")


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=50)


def register(subparsers) -> None:
    p = subparsers.add_parser("process", help="process the files waiting in the queue, then exit")
    p.add_argument("--limit", type=int, help="process at most this many files")
    p.set_defaults(handler=handle_process)

    p = subparsers.add_parser("import", help="import a Student or Attainment file received another way, as an "
                              "upload (FileGuid and TaskId from the file's header)")
    p.add_argument("file", type=Path)
    p.add_argument("--base", required=True, metavar="LAESTAB", help="the base that sent the file")
    p.add_argument("--process", action="store_true",
                   help="process it right away (the queue, or the attainment import of this file) "
                        "and show what became of it")
    p.set_defaults(handler=handle_import)

    files = subparsers.add_parser("files", help="received files").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = files.add_parser("list", help="files, newest first")
    p.add_argument("--base", metavar="LAESTAB")
    p.add_argument("--status", choices=("Receiving", "Received", "Rejected", "Processing", "Processed", "Failed"))
    _paging(p)
    p.set_defaults(handler=handle_files_list)
    p = files.add_parser("retry", help="queue a Failed file again")
    p.add_argument("file_id")
    p.set_defaults(handler=handle_files_retry)

    rev = subparsers.add_parser("review", help="unmatched incoming pupils and contacts").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = rev.add_parser("unmatched", help="list unmatched records (B2B_S_AGE applies)")
    p.add_argument("--base", metavar="LAESTAB")
    p.add_argument("--ncy")
    p.add_argument("--min-age", type=int)
    p.add_argument("--max-age", type=int)
    p.add_argument("--candidates", dest="has_candidates", action="store_true", default=None,
                   help="only records with candidates")
    p.add_argument("--no-candidates", dest="has_candidates", action="store_false")
    p.add_argument("--contacts", action="store_true", help="list contacts instead of pupils")
    _paging(p)
    p.set_defaults(handler=handle_review_unmatched)
    p = rev.add_parser("show", help="one record with its candidates, findings and contacts")
    p.add_argument("incoming_id", type=int)
    p.set_defaults(handler=handle_review_show)
    p = rev.add_parser("match", help="match a record to a person")
    p.add_argument("incoming_id", type=int)
    p.add_argument("person_id", type=person_id, help="the person's id: #N or N")
    p.set_defaults(handler=handle_review_match)
    p = rev.add_parser("create", help="create a new person from a record")
    p.add_argument("incoming_id", type=int)
    p.set_defaults(handler=handle_review_create)
    p = rev.add_parser("reject", help="reject a record")
    p.add_argument("incoming_id", type=int)
    p.add_argument("--reason", default="")
    p.set_defaults(handler=handle_review_reject)
    p = rev.add_parser("reopen", help="undo the decision on a matched, created or rejected record")
    p.add_argument("incoming_id", type=int)
    p.add_argument("--dry-run", action="store_true", help="only say what would change")
    p.set_defaults(handler=handle_review_reopen)
    p = rev.add_parser("rematch", help="undo a decision and match the record to another person")
    p.add_argument("incoming_id", type=int)
    p.add_argument("person_id", type=int)
    p.set_defaults(handler=handle_review_rematch)

    con = subparsers.add_parser("conflicts", help="matched with conflicts").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = con.add_parser("list", help="open conflicts, newest first")
    p.add_argument("--base", metavar="LAESTAB")
    p.add_argument("--person", type=person_id, metavar="PERSON_ID", help="#N or N")
    p.add_argument("--field")
    p.add_argument("--status", default="open", choices=("open", "taken", "kept", "cleared", "undone"))
    _paging(p)
    p.set_defaults(handler=handle_conflicts_list)
    p = con.add_parser("resolve", help="take the incoming value or keep the LA's")
    p.add_argument("conflict_ids", type=int, nargs="+")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--take", dest="resolution", action="store_const", const="take")
    how.add_argument("--keep", dest="resolution", action="store_const", const="keep")
    p.set_defaults(handler=handle_conflicts_resolve)

    rep = subparsers.add_parser("report", help="reports").add_subparsers(dest="action", metavar="ACTION",
                                                                         required=True)
    p = rep.add_parser("base", help="one base: files, waiting unmatched, open conflicts, findings")
    p.add_argument("laestab")
    p.set_defaults(handler=handle_report_base)


def _run(args: argparse.Namespace, work) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            work(ctx, session)
    return 0


def handle_process(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        results = run_pending(ctx, limit=args.limit)
        emit(args, [vars(r) | {"file_id": r.file_id} for r in results], RESULT_COLUMNS)
        return 1 if any(r.status == "Failed" for r in results) else 0


def handle_import(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        result = review.import_file(ctx, ACTOR, args.file.read_bytes(), args.base, args.file.name)
        if args.process and result["data_type"] == "Student" and result["status"] == "Received":
            result = _processed(ctx, result)
        emit_one(args, {"file_id": result["file_id"], "status": result["status"],
                        "errors": "; ".join(f"line {e['line']}: {e['message']}" for e in result["errors"])})
        if args.process and result["data_type"] == "Attainment" and result["status"] == "Received":
            emit_one(args, import_attainment(ctx, file_id=result["file_id"], actor=ACTOR))
        return 1 if result["status"] in ("Rejected", "Failed") else 0


def _processed(ctx, imported: dict) -> dict:
    """Run the queue (this file with it), then the file as processing left it: Processed, Rejected or Failed."""
    run_pending(ctx)
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, imported["file_id"])
        return {**imported, "status": vf.status, "errors": vf.errors or []}


def _page(args: argparse.Namespace, page: dict, columns) -> None:
    emit(args, page["items"], columns)
    if not args.json and page["total"] > len(page["items"]):
        print(f"page {page['page']}: {len(page['items'])} of {page['total']}")


def handle_files_list(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: _page(args, review.list_files(
        s, ACTOR, base=args.base, status=args.status, page=args.page, page_size=args.page_size), FILE_COLUMNS))


def handle_files_retry(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit_one(args, review.retry_file(s, ACTOR, args.file_id)))


def handle_review_unmatched(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: _page(args, review.list_unmatched(
        s, ACTOR, ctx.settings, base=args.base, ncy=args.ncy, min_age=args.min_age, max_age=args.max_age,
        has_candidates=args.has_candidates, kind="contact" if args.contacts else "pupil", page=args.page,
        page_size=args.page_size), UNMATCHED_COLUMNS))


def handle_review_show(args: argparse.Namespace) -> int:
    def show(ctx, session):
        detail = review.get_incoming(session, ACTOR, args.incoming_id)
        if args.json:
            print(json.dumps(detail, default=str, indent=2))
            return
        candidates, contacts = detail.pop("candidates"), detail.pop("contacts")
        findings = detail.pop("findings")
        detail.pop("explanation")
        emit_one(args, detail)
        print("\ncandidates:")
        emit(args, candidates, ("rank", "person_id", "score", "forename", "surname", "dob", "postcode", "upn"))
        print("\nfindings:")
        emit(args, findings, ("code", "field", "message"))
        print("\ncontacts:")
        emit(args, contacts, ("id", "forename", "surname", "status", "decision", "person_id"))
    return _run(args, show)


def handle_review_match(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit_one(args, review.match_incoming(
        s, ACTOR, args.incoming_id, args.person_id, settings=ctx.settings)))


def handle_review_create(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit_one(args, review.create_person_from_incoming(
        s, ACTOR, args.incoming_id, settings=ctx.settings)))


def handle_review_reject(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit_one(args, review.reject_incoming(s, ACTOR, args.incoming_id, args.reason)))


def handle_review_reopen(args: argparse.Namespace) -> int:
    """Print what the undo changes (``--dry-run``: would change, and change nothing)."""
    undo = review.undo_plan if args.dry_run else review.reopen_incoming

    def reopen(ctx, session):
        plan = undo(session, ACTOR, args.incoming_id)
        if args.json:
            print(json.dumps(plan, default=str, indent=2))
            return
        emit_one(args, {**{k: v for k, v in plan.items() if not isinstance(v, (list, dict))},
                        "records": " ".join(map(str, plan["records"])),
                        "conflicts": " ".join(f"{c['id']}:{c['field']}" for c in plan["conflicts"]),
                        "filled": " ".join(plan["filled"]), "enrolment": "yes" if plan["enrolment"] else "no",
                        "carer_links": len(plan["carer_links"])})
    return _run(args, reopen)


def handle_review_rematch(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit_one(args, review.rematch_incoming(
        s, ACTOR, args.incoming_id, args.person_id, settings=ctx.settings)))


def handle_conflicts_list(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: _page(args, review.list_conflicts(
        s, ACTOR, base=args.base, person_id=args.person, field=args.field, status=args.status, page=args.page,
        page_size=args.page_size), CONFLICT_COLUMNS))


def handle_conflicts_resolve(args: argparse.Namespace) -> int:
    return _run(args, lambda ctx, s: emit(args, review.resolve_conflicts(
        s, ACTOR, args.conflict_ids, args.resolution), ("id", "person_id", "field", "status")))


def handle_report_base(args: argparse.Namespace) -> int:
    def report(ctx, session):
        data = review.base_report(session, ACTOR, args.laestab)
        if args.json:
            print(json.dumps(data, default=str, indent=2))
            return
        emit_one(args, {"base": data["base"], "name": data["name"],
                        "last file": (data["last_file"] or {}).get("id", ""),
                        "last file status": (data["last_file"] or {}).get("status", ""),
                        "files by status": ", ".join(f"{k} {v}" for k, v in data["files_by_status"].items()),
                        "waiting unmatched": data["waiting_unmatched"], "open conflicts": data["open_conflicts"],
                        "findings": ", ".join(f"{k} {v}" for k, v in data["findings_by_code"].items())})
        print("\nrejected or failed files:")
        emit(args, data["rejected_files"], ("id", "file_name", "status", "received_at", "errors", "failure"))
    return _run(args, report)
