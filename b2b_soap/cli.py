"""The ``b2b-soap`` command. Each topic lives in ``b2b_soap/commands/<topic>.py`` with a
``register(subparsers)`` function (listed in ``TOPICS``) that sets each command's ``handler``.
A handler is named ``handle_`` and the command's words (``b2b-soap jobs run``: ``handle_jobs_run``),
takes the parsed arguments and returns an exit code.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .commands import (accounts, alerts, attainment, demo, download, jobs, link, matching, operations, population,
                       process, serve, setup, tasks)
from .config import ConfigError
from .errors import B2BError

__all__ = ["main", "parse_arguments", "build_parser"]

EXIT_BROKEN_PIPE = 141  # what a shell reports for a command ended by SIGPIPE
# The order is the order of the commands in ``b2b-soap --help``.
TOPICS = (setup, accounts, population, demo, serve, download, attainment, tasks, jobs, alerts, operations, process,
          link, matching)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="b2b-soap", description="B2B Student server for a Local Authority")
    parser.add_argument("--config", help="configuration file (default: $B2B_SOAP_CONFIG or ./b2b-soap.toml)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for topic in TOPICS:
        topic.register(subparsers)
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _stdout_to_devnull() -> None:
    """The reader of stdout has gone (``| head``): send what is still buffered nowhere, so that
    the interpreter's own flush at exit does not report the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except B2BError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
