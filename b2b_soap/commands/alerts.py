"""``b2b-soap alerts``: list the alert log, send a test alert, deliver pending alerts now."""
from __future__ import annotations

import argparse

from .. import alerts
from ..db import Alert, session_scope
from .common import context_from_args, emit, emit_one

__all__ = ["register"]

COLUMNS = ("id", "created_at", "trigger", "status", "attempts", "recipients", "subject", "last_error")


def register(subparsers) -> None:
    parser = subparsers.add_parser("alerts", help="alert log, test alerts, delivery")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="recent alerts, newest first")
    listing.add_argument("--status", choices=("pending", "sent", "logged"))
    listing.add_argument("--trigger", help="only this trigger")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=handle_alerts_list)
    test = actions.add_parser("test", help="raise a test alert and try to deliver it now")
    test.add_argument("--trigger", default=alerts.ATTAINMENT_TASK_ALTERED,
                      help="trigger whose recipients get it (default: %(default)s)")
    test.set_defaults(handler=handle_alerts_test)
    deliver = actions.add_parser("deliver", help="send every pending alert that is due (serve does this itself)")
    deliver.set_defaults(handler=handle_alerts_deliver)


def _row(alert) -> dict:
    return {c: getattr(alert, c) for c in COLUMNS}


def handle_alerts_list(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with ctx.sessions() as session:
            emit(args, [_row(a) for a in alerts.list_alerts(session, args.status, args.trigger, args.limit)],
                 COLUMNS)
    return 0


def handle_alerts_test(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        with session_scope(ctx.sessions) as session:
            alert = alerts.raise_alert(session, ctx.settings, args.trigger, f"Test alert: {args.trigger}",
                                       "This is a test alert sent with `b2b-soap alerts test`.")
            session.flush()
            alert_id = alert.id
        alerts.deliver_pending(ctx.sessions, ctx.settings)
        with ctx.sessions() as session:
            alert = session.get(Alert, alert_id)
            emit_one(args, _row(alert))
            return 1 if alert.status == "pending" else 0


def handle_alerts_deliver(args: argparse.Namespace) -> int:
    with context_from_args(args) as ctx:
        emit_one(args, alerts.deliver_pending(ctx.sessions, ctx.settings))
    return 0
