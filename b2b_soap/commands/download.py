"""``b2b-soap download``: LA -> school files (queue one file for bases, list what is pending)."""
from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import select

from ..db import Base, session_scope
from ..downloads import pending_downloads, queue_download
from ..errors import NotFound
from .common import cli_actor, context_from_args, emit

__all__ = ["register"]

COLUMNS = ("id", "base", "file_name", "data_type", "total_bytes", "queued_at", "downloaded_at")


def register(subparsers) -> None:
    parser = subparsers.add_parser("download", help="files the LA sends to schools")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    queue = actions.add_parser("queue", help="queue a file for one or more bases")
    queue.add_argument("--base", action="append", required=True, metavar="LAESTAB",
                       help="base to send the file to (repeat for several)")
    queue.add_argument("--data-type", default="Student", choices=("Student", "Attainment"))
    queue.add_argument("--name", help="file name the school sees (default: the file's name)")
    queue.add_argument("file", type=Path, help="the file to send")
    queue.set_defaults(handler=handle_download_queue)
    pending = actions.add_parser("pending", help="list a base's downloads not yet acknowledged")
    pending.add_argument("--base", required=True, metavar="LAESTAB")
    pending.set_defaults(handler=handle_download_pending)


def _row(download, laestab: str) -> dict:
    return {"id": download.id, "base": laestab, "file_name": download.file_name, "data_type": download.data_type,
            "total_bytes": download.total_bytes, "queued_at": download.queued_at,
            "downloaded_at": download.downloaded_at}


def handle_download_queue(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        content = args.file.read_bytes()
        with session_scope(ctx.sessions) as session:
            rows = queue_download(session, ctx.keyring, cli_actor(), args.base, args.name or args.file.name, content,
                                  args.data_type)
            laestabs = {row.base_id: laestab for row, laestab in zip(rows, dict.fromkeys(args.base))}
            emit(args, [_row(r, laestabs[r.base_id]) for r in rows], COLUMNS)
    return 0


def handle_download_pending(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            base = session.scalar(select(Base).where(Base.laestab == args.base))
            if base is None:
                raise NotFound(f"unknown base {args.base}")
            emit(args, [_row(d, base.laestab) for d in pending_downloads(session, base.id)], COLUMNS)
    return 0
