"""``b2b-soap serve``: run the SOAP services (and the background components) until stopped.

``python -m b2b_soap.commands.serve --config FILE`` does the same without loading the
other commands (the test helper ``tests/server.py`` uses it).
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Sequence

from .common import settings_from_args

__all__ = ["register", "handler", "main"]


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default: server.host)")
    parser.add_argument("--port", type=int, help="TCP port (default: server.port)")
    parser.add_argument("--no-background", action="store_true",
                        help="do not start the processing worker and the scheduler")
    parser.set_defaults(handler=handler)


def register(subparsers) -> None:
    _add_options(subparsers.add_parser("serve", help="run the SOAP services under cheroot"))


def handler(args: argparse.Namespace) -> int:
    from ..context import AppContext
    from ..service.server import configure_logging, serve

    settings = settings_from_args(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = dataclasses.replace(settings, server=dataclasses.replace(settings.server, **overrides))
    configure_logging()
    ctx = AppContext(settings)
    try:
        serve(ctx, starters=[] if args.no_background else None)
    finally:
        ctx.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b2b_soap.commands.serve")
    parser.add_argument("--config", help="configuration file")
    _add_options(parser)
    return handler(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
