"""Who may see which page: the navigation and the permission check every view uses.

Pages ask ``la_refusal`` (the same rule the admin SOAP service applies); a page the user may
not read is left out of the navigation, and a direct request for it gets 403.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import abort, g

from ..security import ADMINISTRATION, CONFLICTS, REPORTS, UNMATCHED, la_refusal

__all__ = ["NavItem", "NAVIGATION", "allowed", "requires"]


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    process: str


NAVIGATION = (
    NavItem("unmatched.index", "Unmatched", UNMATCHED),
    NavItem("conflicts.index", "Conflicts", CONFLICTS),
    NavItem("files.index", "Files", REPORTS),
    NavItem("reports.index", "Reports", REPORTS),
    NavItem("tasks.index", "Scheduled tasks", ADMINISTRATION),
    NavItem("jobs.index", "Jobs", ADMINISTRATION),
    NavItem("alerts.index", "Alerts", ADMINISTRATION),
    NavItem("defaults.index", "System defaults", ADMINISTRATION),
    NavItem("setup.index", "Set-up", ADMINISTRATION),
    NavItem("setup.hierarchies", "Attainment", REPORTS),
)


def allowed(process: str, write: bool = False) -> bool:
    """Whether the signed-in user may read (or change, with ``write``) ``process``."""
    user = g.get("user")
    return user is not None and la_refusal(user, g.permissions, process, write) is None


def requires(process: str, write: bool = False) -> Callable:
    """Decorate a view: 403 unless the user has ``process`` at Read (or Read-Write)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            refusal = la_refusal(g.user, g.permissions, process, write)
            if refusal:
                abort(403, refusal)
            return view(*args, **kwargs)
        return checked
    return decorate
