"""``b2b-soap serve``: run the SOAP services (and the background components) until stopped.

``--workers N`` runs N processes on the one port (PostgreSQL only; SQLite is refused with
exit status 2): see :func:`b2b_soap.service.workers.serve_workers`. ``/metrics`` then sums
over the processes through prometheus-client's multiprocess mode, in a directory under the
data directory (``PROMETHEUS_MULTIPROC_DIR`` when set), emptied at start.

``python -m b2b_soap.commands.serve --config FILE`` does the same without loading the
other commands (the test helper ``tests/server.py`` uses it).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from ..private_files import OWNER_ONLY_UMASK
from .common import settings_from_args

__all__ = ["register", "main", "METRICS_DIR_NAME"]

METRICS_DIR_NAME = "metrics-multiproc"
EXIT_REFUSED = 2


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default: server.host)")
    parser.add_argument("--port", type=int, help="TCP port (default: server.port)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes sharing the port (default 1; more than 1 needs PostgreSQL)")
    parser.add_argument("--stop-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="with --workers: time the processes get to stop before they are killed (default 60)")
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line (with request ids)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="log level (default INFO)")
    parser.add_argument("--no-background", action="store_true",
                        help="do not start the processing worker and the scheduler")
    parser.set_defaults(handler=handle_serve)


def register(subparsers) -> None:
    _add_options(subparsers.add_parser("serve", help="run the SOAP services under cheroot"))


def _metrics_dir(settings) -> str:
    """Set PROMETHEUS_MULTIPROC_DIR (before prometheus-client is imported) and empty it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(settings.data_path.resolve() / METRICS_DIR_NAME)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in path.glob("*.db"):  # counters of an earlier run
        stale.unlink(missing_ok=True)
    return directory


def _warn_open_files(settings) -> None:
    """Warn about the configuration, key and SQLite files when other local users may read them."""
    from sqlalchemy import make_url

    from ..db import is_sqlite
    from ..private_files import open_to_others

    paths = [Path(settings.source)] if settings.source else []
    paths.append(settings.key_path)
    if is_sqlite(settings.database_url):
        database = Path(make_url(settings.database_url).database or "")
        paths += [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    for path in open_to_others(paths):
        logging.getLogger("b2b_soap.server").warning(
            "%s can be read by other users of this machine; make it private: chmod 600 %s", path, path)


def handle_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = dataclasses.replace(settings, server=dataclasses.replace(settings.server, **overrides))
    workers = getattr(args, "workers", 1) or 1
    if workers > 1:
        from ..db import is_sqlite
        if is_sqlite(settings.database_url):
            print(f"b2b-soap serve: --workers {workers} needs PostgreSQL: SQLite allows only one server "
                  "process (one writer; the processing queue and job locks need PostgreSQL). Set "
                  "database.url to a postgresql:// URL, or serve with --workers 1.", file=sys.stderr)
            return EXIT_REFUSED
        if workers > 64:
            print("b2b-soap serve: --workers is at most 64", file=sys.stderr)
            return EXIT_REFUSED
        _metrics_dir(settings)  # before anything imports prometheus_client
    elif workers < 1:
        print("b2b-soap serve: --workers must be at least 1", file=sys.stderr)
        return EXIT_REFUSED

    from ..context import AppContext
    from ..logging_setup import configure_logging
    from ..service.server import CannotListen, serve
    from ..service.workers import serve_workers
    from ..service.wsgi import quiet_spyne_logs

    configure_logging(json=args.log_json, level=args.log_level)
    quiet_spyne_logs()
    os.umask(OWNER_ONLY_UMASK)  # the WAL, attainment files and metrics it creates are for this user only
    _warn_open_files(settings)
    starters = [] if args.no_background else None
    try:
        if workers > 1:
            return serve_workers(settings, workers, starters, stop_timeout=max(args.stop_timeout, 2.0))
        with AppContext(settings) as ctx:
            serve(ctx, starters=starters)
    except CannotListen as exc:
        print(f"b2b-soap serve: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b2b_soap.commands.serve")
    parser.add_argument("--config", help="configuration file")
    _add_options(parser)
    return handle_serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
