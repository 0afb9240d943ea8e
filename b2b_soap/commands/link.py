"""``b2b-soap link``: match two CSV files in memory with the server's matching engine."""
from __future__ import annotations

from ..matching.link import add_link_arguments, main_link

__all__ = ["register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "link", help="match incoming records to an LA population (CSV in, CSV out, no database)",
        description="Columns id,upn,forename,surname,dob,gender,address,town,postcode in both inputs; "
                    "writes incoming_id,la_id,score,decision. Exit 0 when the run completes, "
                    "2 when an input is unusable.")
    add_link_arguments(parser)
    parser.set_defaults(handler=main_link)
