"""``b2b-soap matching show|train|set|reset``: the server's match model, kept as data."""
from __future__ import annotations

import argparse

from ..processing.training import describe_model, reset_model, set_thresholds, train_and_store
from .common import admin_session, cli_actor, emit_one, options

__all__ = ["register"]


def register(subparsers) -> None:
    actions = subparsers.add_parser("matching", help="the match model: weights and thresholds").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("show", parents=[options()], help="thresholds and match weights in use")
    p.set_defaults(handler=handle_matching_show)
    p = actions.add_parser("train", parents=[options()],
                           help="estimate m/u by EM from the population and recent incoming pupils")
    p.add_argument("--sample", type=int, default=5000, help="latest incoming pupils to train on")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=handle_matching_train)
    p = actions.add_parser("set", parents=[options()], help="change decision thresholds")
    p.add_argument("--auto-threshold", type=float, help="probability at or above which a unique match is auto")
    p.add_argument("--possible-threshold", type=float, help="probability at or above which a candidate is listed")
    p.add_argument("--min-lead-bits", type=float, help="lead in match weight an auto match needs over the next")
    p.add_argument("--max-possible", type=int, help="candidates listed per unmatched record")
    p.set_defaults(handler=handle_matching_set)
    p = actions.add_parser("reset", parents=[options()], help="forget the stored model (built-in prior)")
    p.set_defaults(handler=handle_matching_reset)


def handle_matching_show(args: argparse.Namespace) -> int:
    with admin_session(args) as (_ctx, session):
        described = describe_model(session)
    weights = described.pop("weights")
    if getattr(args, "json", False):
        described["weights"] = weights
    else:
        described.update({f"weight {name}": ", ".join(f"{level} {bits:+}" for level, bits in levels.items())
                          for name, levels in weights.items()})
    emit_one(args, described)
    return 0


def handle_matching_train(args: argparse.Namespace) -> int:
    with admin_session(args) as (_ctx, session):
        emit_one(args, train_and_store(session, cli_actor(), args.sample, args.seed))
    return 0


def handle_matching_set(args: argparse.Namespace) -> int:
    with admin_session(args) as (_ctx, session):
        emit_one(args, set_thresholds(session, cli_actor(), auto_threshold=args.auto_threshold,
                                      possible_threshold=args.possible_threshold,
                                      min_lead_bits=args.min_lead_bits, max_possible=args.max_possible))
    return 0


def handle_matching_reset(args: argparse.Namespace) -> int:
    with admin_session(args) as (_ctx, session):
        reset_model(session, cli_actor())
    print("the built-in prior model applies again")
    return 0
