"""Helpers every command uses: settings and context from the arguments, options accepted after the
sub-command, the acting user, one transaction per command, output, passwords."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..config import Settings, load_settings
from ..context import AppContext
from ..db import session_scope
from ..errors import InternalError, ValidationFailed

__all__ = ["settings_from_args", "context_from_args", "emit", "emit_one", "read_password", "options",
           "cli_actor", "admin_session", "person_id", "database_reason"]

PERSON_ID_COLUMNS = ("person_id",)  # printed as #N, the form every command accepts


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def context_from_args(args: argparse.Namespace) -> AppContext:
    return AppContext(settings_from_args(args))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(json.dumps(v, default=str) if isinstance(v, (dict, list)) else _text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str) if value else ""
    return str(value)


def person_id(text: str) -> int:
    """A person's internal id, written ``#N`` (as the commands print it) or ``N``.

    Raises:
        ValueError: not one of those forms (argparse reports it as a usage error).
    """
    digits = text.strip().removeprefix("#")
    if not digits.isdigit():
        raise ValueError(f"{text!r} is not a person id (#N or N)")
    return int(digits)


def _cell(column: str, value: Any) -> str:
    if column in PERSON_ID_COLUMNS and value is not None:
        return f"#{value}"
    return _text(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def emit(args: argparse.Namespace, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as a readable table, or as a JSON list with --json."""
    rows = list(rows)
    if getattr(args, "json", False):
        print(json.dumps([{c: _jsonable(r.get(c)) for c in columns} for r in rows], indent=2))
        return
    cells = [[_cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    if not rows:
        print("(none)")


def emit_one(args: argparse.Namespace, record: dict[str, Any]) -> None:
    """Print one record as key: value lines, or as a JSON object with --json."""
    if getattr(args, "json", False):
        print(json.dumps({k: _jsonable(v) for k, v in record.items()}, indent=2))
        return
    _print_fields(record, "")


def _print_fields(record: dict[str, Any], indent: str) -> None:
    """``key  value`` lines; a non-empty dict value as its own lines, indented under its key."""
    width = max((len(k) for k in record), default=0)
    for key, value in record.items():
        if isinstance(value, dict) and value:
            print(f"{indent}{key}:")
            _print_fields(value, indent + "  ")
        else:
            print(f"{indent}{key.ljust(width)}  {_cell(key, value)}".rstrip())


def read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    """A password from --password-stdin, B2B_SOAP_PASSWORD, or an interactive prompt (asked twice)."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("B2B_SOAP_PASSWORD"):
        return os.environ["B2B_SOAP_PASSWORD"]
    if not sys.stdin.isatty():
        raise ValidationFailed("no password given: use --password-stdin or B2B_SOAP_PASSWORD, "
                               "or run in a terminal")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise ValidationFailed("the two passwords differ")
    return first


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
            raise InternalError(f"database error ({database_reason(exc)}); has `b2b-soap init` been run?") from None


def database_reason(exc: DBAPIError) -> str:
    """The first line of what the database driver said, without SQLAlchemy's decoration."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
