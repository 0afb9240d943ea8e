"""Scheduled transfer tasks per base: everyone with Administration reads them, Read-Write edits.

Validation and versioning are ``tasks.save_la_task``'s; this page only turns the form into its data.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ... import tasks
from ...db import AspectHierarchy, Base, ScheduledTask
from ...errors import ValidationFailed
from ...security import ADMINISTRATION
from ..guard import requires

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

_DONE = {"saved": "The task has been saved", "deleted": "The task has been deleted"}


def _bases() -> list[tuple[int, str]]:
    return [(b.id, f"{b.laestab} {b.name}") for b in g.db.scalars(select(Base).order_by(Base.laestab))]


def _int_or_none(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed(f"enter a whole number, not {text!r}")
    return int(text)


def _form_data(task_id: int) -> dict[str, Any]:
    form = request.form
    return {
        "task_id": task_id, "version": _int_or_none(form.get("version")), "name": form.get("name", ""),
        "data_type": form.get("data_type"), "direction": form.get("direction"),
        "enabled": form.get("enabled") == "yes", "frequency": form.get("frequency"),
        "start_date": form.get("start_date") or None, "time_of_day": form.get("time_of_day", "").strip(),
        "days_of_week": form.getlist("days_of_week"), "day_of_month": _int_or_none(form.get("day_of_month")),
        "nc_years": form.getlist("nc_years"), "include_leavers": form.get("include_leavers") == "yes",
        "aspect_hierarchy_id": _int_or_none(form.get("aspect_hierarchy_id")),
    }


def _form(task: dict[str, Any], base_id: int | None, error: str = "", status: int = 200):
    hierarchies = [(h.id, h.name) for h in g.db.scalars(select(AspectHierarchy).order_by(AspectHierarchy.name))]
    return render_template("tasks/form.html", task=task, base_id=base_id, bases=_bases(), error=error,
                           hierarchies=hierarchies, choices=tasks), status


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    base_id = request.args.get("base", type=int)
    rows = tasks.list_tasks(g.db, base_id) if base_id else []
    names = dict(_bases())
    return render_template("tasks/index.html", bases=names.items(), base_id=base_id, rows=rows,
                           base_name=names.get(base_id, ""), done=_DONE.get(request.args.get("done", "")))


@bp.get("/new")
@requires(ADMINISTRATION, write=True)
def new():
    blank = {"task_id": 0, "enabled": True, "data_type": "Student", "direction": "Export",
             "frequency": "Weekly", "days_of_week": [], "nc_years": []}
    return _form(blank, request.args.get("base", type=int))


@bp.get("/<int:task_id>/edit")
@requires(ADMINISTRATION, write=True)
def edit(task_id: int):
    task = g.db.get(ScheduledTask, task_id)
    if task is None or task.deleted:
        abort(404)
    return _form(tasks.task_to_dict(task), task.base_id)


@bp.post("/save")
@requires(ADMINISTRATION, write=True)
def save():
    task_id = request.form.get("task_id", type=int) or 0
    base_id = request.form.get("base_id", type=int)
    try:
        data = _form_data(task_id)
        saved = tasks.save_la_task(g.db, g.user, [base_id] if base_id else [], data)
        g.db.commit()
    except ValidationFailed as exc:
        g.db.rollback()
        shown = {**request.form.to_dict(), "task_id": task_id, "days_of_week": request.form.getlist("days_of_week"),
                 "nc_years": request.form.getlist("nc_years"), "enabled": request.form.get("enabled") == "yes",
                 "include_leavers": request.form.get("include_leavers") == "yes"}
        return _form(shown, base_id, exc.message, 400)
    return redirect(url_for("tasks.index", base=saved[0].base_id, done="saved"))


@bp.post("/<int:task_id>/delete")
@requires(ADMINISTRATION, write=True)
def delete(task_id: int):
    task = g.db.get(ScheduledTask, task_id)
    if task is None:
        abort(404)
    base_id = task.base_id
    tasks.delete_la_task(g.db, g.user, task_id)
    g.db.commit()
    return redirect(url_for("tasks.index", base=base_id, done="deleted"))
