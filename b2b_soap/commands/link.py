"""``b2b-soap link``: match two CSV files in memory with the server's matching engine."""
from __future__ import annotations

import argparse
import sys

from ..matching.link import add_link_arguments, main_link
from .progress import StderrProgress

__all__ = ["register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "link", help="match incoming records to an LA population (CSV in, CSV out, no database)",
        description="Columns id,upn,forename,surname,dob,gender,address,town,postcode in both inputs; "
                    "writes incoming_id,la_id,score,decision. Exit 0 when the run completes, "
                    "2 when an input is unusable. With --json, a summary of the run on stdout.")
    add_link_arguments(parser)
    parser.add_argument("--progress", action="store_true",
                        help="report each stage on stderr even when it is not a terminal")
    parser.set_defaults(handler=handle_link)


def handle_link(args: argparse.Namespace) -> int:
    progress = StderrProgress() if args.progress or sys.stderr.isatty() else None
    return main_link(args, progress)
