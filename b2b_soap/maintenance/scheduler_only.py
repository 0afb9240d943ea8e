"""Scheduler-only mode: ``python -m b2b_soap.maintenance.scheduler_only --config FILE``.

Runs the maintenance scheduler (and alert delivery) without the SOAP service, until
SIGTERM or SIGINT; useful on a host that only does maintenance, and in tests.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ..alerts import start_alert_delivery
from ..config import ConfigError, load_settings
from ..context import AppContext
from .locks import SchedulerLocked
from .scheduler import start_scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b2b_soap.maintenance.scheduler_only")
    parser.add_argument("--config", help="configuration file")
    parser.add_argument("--no-alerts", action="store_true", help="do not deliver alerts from this process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        ctx = AppContext(load_settings(args.config))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        stop_scheduler = start_scheduler(ctx, strict=True)
    except SchedulerLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop_alerts = (lambda: None) if args.no_alerts else start_alert_delivery(ctx)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print("maintenance scheduler running", flush=True)
    done.wait()
    stop_scheduler()
    stop_alerts()
    ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
