"""Operations commands: backup, restore, storage keys, data-protection requests, retention."""
from __future__ import annotations

import argparse
import json
import sys

from ..db import session_scope
from ..errors import ValidationFailed
from ..operations import backup, keys, privacy, retention
from .common import cli_actor, context_from_args, emit, emit_one, person_id, settings_from_args

__all__ = ["register"]


def handle_backup(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    result = backup.backup_database(settings, args.dest)
    emit_one(args, {"backup": result.path, "kind": result.kind, "revision": result.revision, "bytes": result.bytes})
    print(backup.key_reminder(settings), file=sys.stderr)
    return 0


def handle_restore(args: argparse.Namespace) -> int:
    result = backup.restore_database(settings_from_args(args), args.src, force=args.force)
    emit_one(args, {"restored_from": result.path, "kind": result.kind, "revision": result.revision})
    return 0


def handle_keys_status(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        status = keys.key_status(ctx)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    rows = [{"table": table, "key_id": key_id, "rows": n,
             "current": "yes" if key_id == status["current_key"] else ""}
            for table, counts in status["tables"].items() for key_id, n in sorted(counts.items())]
    emit(args, rows, ("table", "key_id", "rows", "current"))
    print(f"keys in ring: {', '.join(status['keys'])}; newest: {status['current_key']}; "
          f"rows to re-encrypt: {status['pending']}")
    return 0


def handle_keys_rotate(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        added = None if args.resume else keys.add_key(ctx)
        counts = {} if args.add_only else keys.reencrypt(ctx, batch_size=args.batch_size,
                                                         max_batches=args.max_batches)
        left = keys.key_status(ctx)["pending"]
    emit_one(args, {"new_key": added or "", **{f"reencrypted_{t}": n for t, n in counts.items()},
                    "rows_left": left})
    if left:
        print("rows remain on older keys; run 'b2b-soap keys rotate --resume' to continue", file=sys.stderr)
    return 0


def handle_keys_retire(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        keys.retire_key(ctx, args.key_id)
    print(f"key {args.key_id} removed from {ctx.settings.key_path}; backups older than this rotation "
          "need a copy of the old key file")
    return 0


def _person_ref(args: argparse.Namespace) -> int | str:
    if args.external_id:
        return args.person
    try:
        return person_id(args.person)
    except ValueError:
        raise ValidationFailed(f"{args.person!r} is not a person id (#N or N); give the LA's own id "
                               "with --external-id") from None


def handle_privacy_export(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            data = privacy.export_person(session, _person_ref(args))
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if args.output:
        with open(args.output, "x", encoding="utf-8") as handle:
            handle.write(text + "\n")
        print(f"written to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def handle_privacy_erase(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            result = privacy.erase_person(session, _person_ref(args), args.actor, force=args.force,
                                          purge_files=args.purge_files)
    emit_one(args, result)
    return 0


def handle_privacy_retention(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        counts = retention.run_retention(ctx, incoming_days=args.incoming_days,
                                         resolved_conflict_days=args.resolved_conflict_days,
                                         audit_days=args.audit_days)
    emit_one(args, counts)
    return 0


def _register_keys(subparsers) -> None:
    parser = subparsers.add_parser("keys", help="storage keys: status, rotate, retire")
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    actions.add_parser("status", help="stored rows per key id").set_defaults(handler=handle_keys_status)
    rotate = actions.add_parser("rotate", help="add a new key and re-encrypt stored contents in batches")
    mode = rotate.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="re-encrypt only: finish an interrupted rotation")
    mode.add_argument("--add-only", action="store_true",
                      help="only add the key (restart servers, then run --resume)")
    rotate.add_argument("--batch-size", type=int, default=200, help="rows per transaction (default 200)")
    rotate.add_argument("--max-batches", type=int, default=None, help="stop after this many batches")
    rotate.set_defaults(handler=handle_keys_rotate)
    retire = actions.add_parser("retire", help="remove an old key that no stored content uses")
    retire.add_argument("key_id")
    retire.set_defaults(handler=handle_keys_retire)


def _register_privacy(subparsers) -> None:
    parser = subparsers.add_parser("privacy", help="data-protection requests: export or erase one person")
    actions = parser.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="everything held about one person, as JSON")
    erase = actions.add_parser("erase", help="erase one person across all tables (audited)")
    for sub in (export, erase):
        sub.add_argument("person", help="person id, #N or N (or the LA's id with --external-id)")
        sub.add_argument("--external-id", action="store_true", help="PERSON is the LA's id (external_id)")
    export.add_argument("--output", "-o", help="write to this new file instead of standard output")
    export.set_defaults(handler=handle_privacy_export)
    erase.add_argument("--force", action="store_true", help="erase even while in an unresolved queue")
    erase.add_argument("--purge-files", action="store_true",
                       help="also empty processed or rejected transfer files that mention the person")
    erase.add_argument("--actor", default=cli_actor(), help="name recorded in the audit log")
    erase.set_defaults(handler=handle_privacy_erase)
    run = actions.add_parser("retention", help="delete data past its retention period now")
    run.add_argument("--incoming-days", type=int, help="matched or rejected incoming records")
    run.add_argument("--resolved-conflict-days", type=int, help="resolved conflicts")
    run.add_argument("--audit-days", type=int, help="audit entries (not erasure tombstones)")
    run.set_defaults(handler=handle_privacy_retention)


def register(subparsers) -> None:
    parser = subparsers.add_parser("backup", help="back up the database (not the storage key)")
    parser.add_argument("dest", help="new backup file")
    parser.set_defaults(handler=handle_backup)
    parser = subparsers.add_parser("restore", help="replace the database by a backup")
    parser.add_argument("src", help="backup file made by 'b2b-soap backup'")
    parser.add_argument("--force", action="store_true", help="restore even while the database is in use")
    parser.set_defaults(handler=handle_restore)
    _register_keys(subparsers)
    _register_privacy(subparsers)
