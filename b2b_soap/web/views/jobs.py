"""Maintenance jobs: the scheduled jobs (add, change, pause, resume, remove), their run history,
and run-now for administrators. Every change goes through ``maintenance.store`` (validated,
audited) and reaches every worker within ``maintenance.reload_seconds``."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from ...errors import B2BError
from ...maintenance.actions import ACTIONS
from ...maintenance.runs import list_runs, parse_job_args, run_now
from ...maintenance.scheduler import describe_jobs
from ...maintenance.store import add_job, change_job, remove_job, set_paused
from ...security import ADMINISTRATION, audit
from ..guard import requires

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _runnable(jobs: list[dict]) -> dict[str, tuple[str, dict]]:
    """What may be run now, by name: each scheduled job, and each action."""
    runnable = {job["name"]: (job["action"], dict(job["args"])) for job in jobs}
    for action in ACTIONS:
        runnable.setdefault(action, (action, {}))
    return runnable


def _page(error: str = "", entered: dict | None = None, status: int = 200):
    ctx = current_app.config["B2B_CTX"]
    jobs = describe_jobs(ctx, g.db)
    job = request.args.get("job") or None
    return render_template("jobs.html", jobs=jobs, runs=list_runs(g.db, job, limit=100), actions=list(ACTIONS),
                           runnable=sorted(_runnable(jobs)), job=job, ran=request.args.get("ran", type=int),
                           changed=request.args.get("changed", ""), error=error, entered=entered or {}), status


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    return _page()


def _form_args(text: str) -> dict:
    return parse_job_args([pair for pair in (p.strip() for p in text.replace(",", " ").split()) if pair])


@bp.post("/save")
@requires(ADMINISTRATION, write=True)
def save():
    """Add a job, or change the job of that name (a blank field keeps its current value)."""
    form = {key: request.form.get(key, "").strip() for key in ("name", "action", "cron", "seconds", "args")}
    try:
        seconds = int(form["seconds"]) if form["seconds"] else None
        args = _form_args(form["args"]) if form["args"] else None
        if any(job["name"] == form["name"] for job in describe_jobs(current_app.config["B2B_CTX"], g.db)):
            change_job(g.db, g.user.username, form["name"], action=form["action"] or None, cron=form["cron"] or None,
                       seconds=seconds, args=args)
        else:
            add_job(g.db, g.user.username, form["name"], form["action"], cron=form["cron"] or None,
                    seconds=seconds, args=args)
    except ValueError:
        return _page("Seconds must be a whole number", form, 400)
    except B2BError as exc:
        g.db.rollback()
        return _page(exc.message, form, 400)
    g.db.commit()
    return redirect(url_for("jobs.index", changed=form["name"]))


def _change(name: str, change) -> object:
    try:
        change(g.db, g.user.username, name)
    except B2BError as exc:
        g.db.rollback()
        return _page(exc.message, status=404 if exc.code == "NotFound" else 400)
    g.db.commit()
    return redirect(url_for("jobs.index", changed=name))


@bp.post("/<name>/pause")
@requires(ADMINISTRATION, write=True)
def pause(name: str):
    return _change(name, lambda session, actor, job: set_paused(session, actor, job, True))


@bp.post("/<name>/resume")
@requires(ADMINISTRATION, write=True)
def resume(name: str):
    return _change(name, lambda session, actor, job: set_paused(session, actor, job, False))


@bp.post("/<name>/remove")
@requires(ADMINISTRATION, write=True)
def remove(name: str):
    return _change(name, remove_job)


@bp.post("/run")
@requires(ADMINISTRATION, write=True)
def run():
    ctx = current_app.config["B2B_CTX"]
    name = request.form.get("job", "")
    target = _runnable(describe_jobs(ctx, g.db)).get(name)
    if target is None:
        abort(400, f"no job called {name!r}")
    action, args = target
    audit(g.db, g.user.username, "job.run_now", "job", name, after={"action": action})
    g.db.commit()
    result = run_now(ctx, action, args, job=name)
    return redirect(url_for("jobs.index", ran=result.id if result else None))
