"""Set-up commands: ``init``, ``config``, ``defaults`` and ``licence``."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.exc import DBAPIError

from ..config import example_config, load_settings
from ..db import Licence
from ..defaults import DEFINITIONS, list_defaults, set_default
from ..errors import NotFound, ServerBusy, ValidationFailed
from ..licensing import (FEATURES, LicenceError, generate_keypair, install_licence, issue_licence,
                         load_private_key, verify_licence)
from ..private_files import owner_only
from ..setup.bootstrap import initialise, user_exists
from ..setup.users import require_policy
from .common import (admin_session, cli_actor, database_reason, emit, emit_one, options, read_password,
                     settings_from_args)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    opts = options()
    p = subparsers.add_parser("init", parents=[opts], help="create or upgrade the database, seed defaults, "
                              "create the storage key and the first LA admin (safe to repeat)")
    p.add_argument("--admin-user", help="username of the first LA administrator")
    p.add_argument("--password-stdin", action="store_true", help="read the admin password from stdin")
    p.set_defaults(handler=handle_init)

    config = subparsers.add_parser("config", help="check or print the configuration file").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = config.add_parser("check", parents=[opts], help="validate a configuration file")
    p.add_argument("file", nargs="?",
                   help="file to check (default: --config, $B2B_SOAP_CONFIG, ./b2b-soap.toml)")
    p.set_defaults(handler=handle_config_check)
    config.add_parser("example", help="print a commented example with every key").set_defaults(
        handler=handle_config_example)

    defaults = subparsers.add_parser("defaults", help="system defaults (B2B_S_AGE, CARER_MIN, ...)") \
        .add_subparsers(dest="action", metavar="ACTION", required=True)
    defaults.add_parser("list", parents=[opts], help="every default and its value").set_defaults(
        handler=handle_defaults_list)
    p = defaults.add_parser("get", parents=[opts], help="one default")
    p.add_argument("name")
    p.set_defaults(handler=handle_defaults_get)
    p = defaults.add_parser("set", parents=[opts], help="change one default (validated, audited)")
    p.add_argument("name")
    p.add_argument("value")
    p.set_defaults(handler=handle_defaults_set)

    licence = subparsers.add_parser("licence", help="licence keys").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = licence.add_parser("keygen", parents=[opts], help="make a vendor key pair; prints the public key")
    p.add_argument("--private-key", required=True, type=Path, help="where to write the private key (0600)")
    p.set_defaults(handler=handle_licence_keygen)
    p = licence.add_parser("issue", parents=[opts], help="sign a licence key with the vendor private key")
    p.add_argument("--private-key", required=True, type=Path)
    p.add_argument("--la", required=True, help="3-digit LA number")
    p.add_argument("--features", required=True, nargs="+", help=f"some of {', '.join(FEATURES)} "
                   "(space or comma separated)")
    p.add_argument("--expires", required=True, help="last valid day, YYYY-MM-DD")
    p.add_argument("--licensee", default="", help="name of the licensee")
    p.set_defaults(handler=handle_licence_issue)
    p = licence.add_parser("install", parents=[opts],
                           help="verify and install a licence key ('-' reads stdin)")
    p.add_argument("key")
    p.set_defaults(handler=handle_licence_install)
    p = licence.add_parser("show", parents=[opts], help="the installed licence and whether it is valid")
    p.set_defaults(handler=handle_licence_show)


def handle_init(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    password = (lambda: read_password(args, f"Password for {args.admin_user}: ")) if args.admin_user else None
    if args.admin_user and not user_exists(settings, args.admin_user):
        # asked before anything is made, so a missing or refused password leaves nothing half made
        secret = require_policy(password(), settings.security)
        password = lambda: secret  # noqa: E731
    try:
        with owner_only():  # the database, its WAL and the key are for the server's user only
            steps = initialise(settings, cli_actor(), args.admin_user, password)
    except DBAPIError as exc:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        raise ServerBusy(f"cannot use the database {shown}: {database_reason(exc)}; check [database] url "
                         "and that the database exists and accepts this user") from None
    emit(args, [{"step": what, "result": result} for what, result in steps], ["step", "result"])
    return 0


def handle_config_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file or getattr(args, "config", None))
    emit_one(args, {"status": "valid", "file": settings.source or "(none: defaults)",
                    "data_dir": settings.data_dir,
                    "database": make_url(settings.database_url).render_as_string(hide_password=True),
                    "la": f"{settings.la.number} {settings.la.name}",
                    "listen": f"{settings.server.host}:{settings.server.port}",
                    "licence_public_key": "set" if settings.licence.public_key else "not set"})
    return 0


def handle_config_example(args: argparse.Namespace) -> int:
    print(example_config())
    return 0


def handle_defaults_list(args: argparse.Namespace) -> int:
    with admin_session(args) as (ctx, session):
        rows = list_defaults(session, ctx.settings)
    emit(args, rows, ["name", "value", "description"])
    return 0


def handle_defaults_get(args: argparse.Namespace) -> int:
    if args.name.upper() not in DEFINITIONS:
        raise NotFound(f"no system default {args.name!r}; known: {', '.join(DEFINITIONS)}")
    with admin_session(args) as (ctx, session):
        row = next(r for r in list_defaults(session, ctx.settings) if r["name"] == args.name.upper())
    emit_one(args, row)
    return 0


def handle_defaults_set(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        value = set_default(session, cli_actor(), args.name, args.value)
    emit_one(args, {"name": args.name.upper(), "value": value})
    return 0


def handle_licence_keygen(args: argparse.Namespace) -> int:
    if args.private_key.exists():
        raise ValidationFailed(f"{args.private_key} already exists; not overwriting a private key")
    public_key = generate_keypair(args.private_key)
    if getattr(args, "json", False):
        emit_one(args, {"public_key": public_key, "private_key": str(args.private_key)})
    else:
        print(public_key)
        print(f"private key written to {args.private_key} (mode 0600); put the public key in "
              "[licence] public_key", file=sys.stderr)
    return 0


def _features(values: list[str]) -> list[str]:
    features = [f.strip().upper() for value in values for f in value.split(",") if f.strip()]
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features:
        raise ValidationFailed(f"unknown feature(s) {', '.join(unknown) or '(none given)'}; "
                               f"known: {', '.join(FEATURES)}")
    return features


def handle_licence_issue(args: argparse.Namespace) -> int:
    if not (len(args.la) == 3 and args.la.isdigit()):
        raise ValidationFailed(f"--la must be a 3-digit LA number, not {args.la!r}")
    try:
        expires = date.fromisoformat(args.expires)
    except ValueError:
        raise ValidationFailed(f"--expires must be YYYY-MM-DD, not {args.expires!r}") from None
    if expires < date.today():
        raise ValidationFailed(f"--expires {expires} is in the past")
    try:
        private_key = load_private_key(args.private_key)
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"cannot use private key {args.private_key}: {exc}") from None
    key = issue_licence(private_key, args.la, _features(args.features), expires, args.licensee)
    if getattr(args, "json", False):
        emit_one(args, {"key": key})
    else:
        print(key)
    return 0


def handle_licence_install(args: argparse.Namespace) -> int:
    key = sys.stdin.read().strip() if args.key == "-" else args.key
    with admin_session(args) as (ctx, session):
        info = install_licence(session, ctx.settings, cli_actor(), key)
    emit_one(args, {"status": "installed", "la": info.la_number, "licensee": info.licensee,
                    "features": ", ".join(info.features), "expires": info.expires})
    return 0


def handle_licence_show(args: argparse.Namespace) -> int:
    with admin_session(args) as (ctx, session):
        row = session.scalar(select(Licence).where(Licence.active.is_(True)).order_by(Licence.id.desc()))
        if row is None:
            raise NotFound("no licence is installed: run `b2b-soap licence install KEY`")
        try:
            verify_licence(row.key, ctx.settings.licence.public_key, ctx.settings.la.number)
            status = "valid"
        except LicenceError as exc:
            status = f"invalid ({exc.reason}): {exc}"
    emit_one(args, {"status": status, "la": row.la_number, "features": row.features.replace(",", ", "),
                    "expires": row.expires_at.date(), "installed_at": row.installed_at,
                    "installed_by": row.installed_by})
    return 0 if status == "valid" else 1
