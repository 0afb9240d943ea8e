"""Reports: a summary line per base, and one base's report with files and unmatched over time."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, g, render_template, request
from sqlalchemy import func, select

from ... import review
from ...db import Base, Conflict, IncomingRecord, VirtualFile
from ...security import REPORTS
from ..charts import Series, bar_chart
from ..guard import requires

bp = Blueprint("reports", __name__, url_prefix="/reports")

DAYS = 30


def _per_base(column, *where) -> dict[int, int]:
    table = column.class_
    return dict(g.db.execute(select(table.base_id, func.count()).where(*where).group_by(table.base_id)).all())


@bp.get("/")
@requires(REPORTS)
def index():
    bases = g.db.scalars(select(Base).order_by(Base.laestab)).all()
    files = _per_base(VirtualFile.base_id)
    last = dict(g.db.execute(select(VirtualFile.base_id, func.max(VirtualFile.received_at))
                             .group_by(VirtualFile.base_id)).all())
    waiting = _per_base(IncomingRecord.base_id, IncomingRecord.status == "unmatched", IncomingRecord.kind == "pupil")
    conflicts = _per_base(Conflict.base_id, Conflict.status == "open")
    rejected = _per_base(VirtualFile.base_id, VirtualFile.status.in_(("Rejected", "Failed")))
    rows = [{"base": b, "files": files.get(b.id, 0), "last": last.get(b.id), "waiting": waiting.get(b.id, 0),
             "conflicts": conflicts.get(b.id, 0), "rejected": rejected.get(b.id, 0)} for b in bases]
    return render_template("reports/index.html", rows=rows)


def _daily(base_id: int, since: datetime) -> tuple[dict, dict]:
    """Files received and unmatched pupils they brought, per day (UTC) since ``since``."""
    day = func.date(VirtualFile.received_at)
    rows = g.db.execute(select(day, func.count(), func.coalesce(func.sum(VirtualFile.unmatched_count), 0))
                        .where(VirtualFile.base_id == base_id, VirtualFile.received_at >= since)
                        .group_by(day)).all()
    files = {str(d)[:10]: n for d, n, _ in rows}
    unmatched = {str(d)[:10]: int(u) for d, _, u in rows}
    return files, unmatched


@bp.get("/<laestab>")
@requires(REPORTS)
def base(laestab: str):
    report = review.base_report(g.db, g.user, laestab)
    g.db.commit()
    base_id = g.db.scalar(select(Base.id).where(Base.laestab == laestab))
    days_shown = request.args.get("days", DAYS, type=int)
    days_shown = days_shown if days_shown in (7, 30, 90) else DAYS
    today = date.today()
    days = [today - timedelta(days=n) for n in range(days_shown - 1, -1, -1)]
    files, unmatched = _daily(base_id, datetime.combine(days[0], datetime.min.time()))
    series = [Series("Files", [files.get(d.isoformat(), 0) for d in days]),
              Series("Unmatched pupils", [unmatched.get(d.isoformat(), 0) for d in days])]
    return render_template("reports/base.html", report=report, chart=bar_chart(days, series), days=days,
                           series=series, days_shown=days_shown)
