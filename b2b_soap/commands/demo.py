"""``b2b-soap demo``: set up (or reuse) the demo LA in a directory, then serve it until stopped."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..private_files import owner_only
from ..setup.demo import (DEFAULT_PASSWORD, DEMO_BASES, LA_ADMIN_USER, DemoOptions, DemoResult, build_demo,
                          school_username)
from .common import emit
from .progress import StderrProgress

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="create or reuse a demo LA in a directory and serve it",
        description="Creates (or reuses) LA 999 'Demo LA' in DIR: configuration, SQLite database, storage "
        "key, demo licence, four bases, users, groups and a synthetic population; then serves on "
        "127.0.0.1:PORT until stopped.")
    p.add_argument("--data-dir", required=True, type=Path, metavar="DIR")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--persons", type=_positive, default=20_000, metavar="N", help="population size (20000)")
    p.add_argument("--password", default=DEFAULT_PASSWORD, metavar="PW",
                   help=f"password of every demo user ({DEFAULT_PASSWORD})")
    p.add_argument("--seed", type=int, default=2026, help="population seed (2026)")
    p.add_argument("--no-serve", action="store_true", help="set up only; do not start the server")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    p.set_defaults(handler=handle_demo)


def _endpoints(result: DemoResult) -> dict[str, str]:
    root = f"http://127.0.0.1:{result.settings.server.port}"
    return {"school service": f"{root}/B2BStudent.svc", "school WSDL": f"{root}/B2BStudent.svc?wsdl",
            "admin service": f"{root}/B2BAdmin.svc", "LA review pages": f"{root}/la/",
            "health": f"{root}/health"}


def _print_summary(args: argparse.Namespace, result: DemoResult) -> None:
    endpoints = _endpoints(result)
    if getattr(args, "json", False):
        print(json.dumps({"data_dir": str(result.settings.data_path), "config": str(result.config_path),
                          "steps": [{"step": s, "result": r} for s, r in result.steps],
                          "endpoints": endpoints, "users": result.usernames, "password": args.password,
                          "serving": not args.no_serve}, indent=2))
        return
    emit(args, [{"step": s, "result": r} for s, r in result.steps], ["step", "result"])
    enabled = [school_username(laestab) for laestab, _, _, on in DEMO_BASES if on]
    disabled = [school_username(laestab) for laestab, _, _, on in DEMO_BASES if not on]
    print(f"\nDemo LA 999 is ready in {result.settings.data_path}")
    for name, url in endpoints.items():
        print(f"  {name + ':':17} {url}")
    print(f"  {'school users:':17} {', '.join(enabled)} (B2B Student Base on)")
    print(f"  {'':17} {', '.join(disabled)} (base not enabled: calls are refused with BaseNotEnabled)")
    print(f"  {'LA user:':17} {LA_ADMIN_USER} (every LA permission)")
    print(f"  {'password:':17} {args.password}")
    print(f"  {'CLI:':17} b2b-soap --config {result.config_path} base list")
    if not args.no_serve:
        print("Serving until stopped (Ctrl-C)...", flush=True)


def handle_demo(args: argparse.Namespace) -> int:
    options = DemoOptions(args.data_dir, args.port, args.persons, args.password, args.seed)
    with owner_only():  # the demo holds personal-looking data: for this user only
        result = build_demo(options, StderrProgress())
    _print_summary(args, result)
    if args.no_serve:
        return 0
    from . import serve
    # exactly `b2b-soap --config FILE serve`, every option at its default
    return serve.main(["--config", str(result.config_path)])
