"""Account commands: ``base``, ``user`` and ``group``."""
from __future__ import annotations

import argparse

from ..security import LEVELS
from ..setup.bases import add_base, list_bases, set_b2b, show_base
from ..setup.groups import PROCESSES, add_group, add_member, grant, list_groups, remove_member
from ..setup.users import add_user, list_users, lock_user, set_password, unlock_user
from .common import admin_session, cli_actor, emit, emit_one, options, read_password

__all__ = ["register"]


def _topic(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    parser = subparsers.add_parser(name, help=help)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    opts = options()
    base = _topic(subparsers, "base", "bases (establishments) and their B2B Student Base flag")
    p = base.add_parser("add", parents=[opts], help="add a base")
    p.add_argument("laestab", help="7 digits: LA number + establishment number")
    p.add_argument("--name", required=True)
    p.add_argument("--phase", default="", help="e.g. Primary, Secondary, PRU")
    p.add_argument("--b2b", action="store_true", help="set the B2B Student Base flag")
    p.set_defaults(handler=handle_base_add)
    base.add_parser("list", parents=[opts], help="every base").set_defaults(handler=handle_base_list)
    p = base.add_parser("show", parents=[opts], help="one base and its users")
    p.add_argument("laestab")
    p.set_defaults(handler=handle_base_show)
    p = base.add_parser("set-b2b", parents=[opts], help="set (on) or clear (off) the B2B Student Base flag")
    p.add_argument("laestab")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(handler=handle_base_set_b2b)

    user = _topic(subparsers, "user", "school and LA users")
    p = user.add_parser("add", parents=[opts], help="add a school user (--base) or an LA user (--la)")
    p.add_argument("username")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--base", metavar="LAESTAB", help="the school user's base")
    kind.add_argument("--la", action="store_true", help="an LA user")
    p.add_argument("--full-name", default="")
    p.add_argument("--email", default="")
    p.add_argument("--group", action="append", default=[], help="also add to this group (repeatable)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(handler=handle_user_add)
    p = user.add_parser("list", parents=[opts], help="users, optionally of one base")
    p.add_argument("--base", metavar="LAESTAB")
    p.set_defaults(handler=handle_user_list)
    p = user.add_parser("passwd", parents=[opts], help="set a user's password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(handler=handle_user_passwd)
    for action, handler, text in (("lock", handle_user_lock, "lock an account until unlocked"),
                                  ("unlock", handle_user_unlock, "unlock an account and clear failed sign-ins")):
        p = user.add_parser(action, parents=[opts], help=text)
        p.add_argument("username")
        p.set_defaults(handler=handler)

    group = _topic(subparsers, "group", "groups, their permissions and members")
    p = group.add_parser("add", parents=[opts], help="add a group")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(handler=handle_group_add)
    group.add_parser("list", parents=[opts], help="groups with permissions and members").set_defaults(
        handler=handle_group_list)
    p = group.add_parser("grant", parents=[opts], help="set a group's level on a process")
    p.add_argument("name", help="group")
    p.add_argument("process", help="; ".join(PROCESSES))
    p.add_argument("level", help=" / ".join(LEVELS))
    p.set_defaults(handler=handle_group_grant)
    p = group.add_parser("member", parents=[opts], help="add a user to a group, or remove one")
    p.add_argument("change", choices=("add", "remove"))
    p.add_argument("name", help="group")
    p.add_argument("username")
    p.set_defaults(handler=handle_group_member)


def handle_base_add(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        laestab = add_base(session, cli_actor(), args.laestab, args.name, args.phase, args.b2b).laestab
        record = show_base(session, laestab)
    emit_one(args, record)
    return 0


def handle_base_list(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        rows = list_bases(session)
    emit(args, rows, ["laestab", "name", "phase", "b2b_enabled", "users"])
    return 0


def handle_base_show(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        record = show_base(session, args.laestab)
    emit_one(args, record)
    return 0


def handle_base_set_b2b(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        set_b2b(session, cli_actor(), args.laestab, args.state == "on")
        record = show_base(session, args.laestab)
    emit_one(args, record)
    return 0


def handle_user_add(args: argparse.Namespace) -> int:
    password = read_password(args, f"Password for {args.username}: ")
    with admin_session(args) as (ctx, session):
        actor = cli_actor()
        add_user(session, ctx.settings.security, actor, args.username, password, base=args.base,
                 full_name=args.full_name, email=args.email)
        for group in args.group:
            add_member(session, actor, group, args.username)
        record = next(u for u in list_users(session) if u["username"] == args.username.strip())
    emit_one(args, record)
    return 0


_USER_COLUMNS = ["username", "kind", "base", "full_name", "groups", "locked", "failed_logins",
                 "last_login_at"]


def handle_user_list(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        rows = list_users(session, args.base)
    emit(args, rows, _USER_COLUMNS)
    return 0


def handle_user_passwd(args: argparse.Namespace) -> int:
    password = read_password(args, f"New password for {args.username}: ")
    with admin_session(args) as (ctx, session):
        set_password(session, ctx.settings.security, cli_actor(), args.username, password)
    emit_one(args, {"username": args.username, "password": "changed"})
    return 0


def _set_lock(args: argparse.Namespace, change) -> int:
    with admin_session(args) as (_, session):
        change(session, cli_actor(), args.username)
        record = next(u for u in list_users(session) if u["username"] == args.username.strip())
    emit_one(args, {k: record[k] for k in ("username", "kind", "base", "locked", "failed_logins")})
    return 0


def handle_user_lock(args: argparse.Namespace) -> int:
    return _set_lock(args, lock_user)


def handle_user_unlock(args: argparse.Namespace) -> int:
    return _set_lock(args, unlock_user)


def _group_record(session, name: str) -> dict:
    return next(g for g in list_groups(session) if g["name"] == name.strip())


def handle_group_add(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        add_group(session, cli_actor(), args.name, args.description)
        record = _group_record(session, args.name)
    emit_one(args, record)
    return 0


def handle_group_list(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        rows = list_groups(session)
    emit(args, rows, ["name", "description", "permissions", "members"])
    return 0


def handle_group_grant(args: argparse.Namespace) -> int:
    with admin_session(args) as (_, session):
        grant(session, cli_actor(), args.name, args.process, args.level)
        record = _group_record(session, args.name)
    emit_one(args, record)
    return 0


def handle_group_member(args: argparse.Namespace) -> int:
    change = add_member if args.change == "add" else remove_member
    with admin_session(args) as (_, session):
        change(session, cli_actor(), args.name, args.username)
        record = _group_record(session, args.name)
    emit_one(args, record)
    return 0
