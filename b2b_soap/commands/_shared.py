"""What the set-up commands share: options accepted after the sub-command, the acting user, and one
transaction per command."""
from __future__ import annotations

import argparse
import getpass
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..context import AppContext
from ..db import session_scope
from ..errors import InternalError
from .common import context_from_args

__all__ = ["options", "cli_actor", "admin_session"]


def options() -> argparse.ArgumentParser:
    """A parent parser so ``--json`` and ``--config`` also work after the sub-command."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
    parent.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
    return parent


def cli_actor() -> str:
    """Who the audit log names for a CLI change: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def admin_session(args: argparse.Namespace) -> Iterator[tuple[AppContext, Session]]:
    """The context and one transaction: committed when the command succeeds, rolled back otherwise."""
    with context_from_args(args) as ctx:
        try:
            with session_scope(ctx.sessions) as session:
                yield ctx, session
        except DBAPIError as exc:
            first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise InternalError(f"database error ({first_line}); has `b2b-soap init` been run?") from None
