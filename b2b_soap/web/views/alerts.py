"""The alert log: every alert raised, newest first, with its delivery status."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from ... import alerts
from ...security import ADMINISTRATION
from ..guard import requires

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    status = request.args.get("status") or None
    trigger = request.args.get("trigger") or None
    rows = alerts.list_alerts(g.db, status=status, trigger=trigger, limit=200)
    return render_template("alerts.html", rows=rows, status=status or "", trigger=trigger or "",
                           triggers=alerts.TRIGGERS)
