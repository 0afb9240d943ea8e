"""Maintenance jobs: the configured jobs, their run history, and run-now for administrators."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from ...maintenance.actions import available_actions
from ...maintenance.runs import list_runs, run_now
from ...maintenance.scheduler import describe_jobs
from ...security import ADMINISTRATION, audit
from ..guard import requires

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _runnable(ctx) -> dict[str, tuple[str, dict]]:
    """What may be run now, by name: each configured job, and each installed action."""
    runnable = {job.name: (job.action, dict(job.args)) for job in ctx.settings.jobs}
    for action in available_actions():
        runnable.setdefault(action, (action, {}))
    return runnable


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    ctx = current_app.config["B2B_CTX"]
    job = request.args.get("job") or None
    return render_template("jobs.html", jobs=describe_jobs(ctx), runs=list_runs(g.db, job, limit=100),
                           runnable=sorted(_runnable(ctx)), job=job, ran=request.args.get("ran", type=int))


@bp.post("/run")
@requires(ADMINISTRATION, write=True)
def run():
    ctx = current_app.config["B2B_CTX"]
    name = request.form.get("job", "")
    target = _runnable(ctx).get(name)
    if target is None:
        abort(400, f"no job called {name!r}")
    action, args = target
    audit(g.db, g.user.username, "job.run_now", "job", name, after={"action": action})
    g.db.commit()
    result = run_now(ctx, action, args, job=name)
    return redirect(url_for("jobs.index", ran=result.id if result else None))
