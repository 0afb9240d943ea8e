"""Matched with Conflicts: the filtered list, a pupil's conflicting fields, and take/keep one or many.

Resolving is ``review.resolve_conflict(s)``'s; a bulk action over "everything the filter
shows" collects the ids through ``review.list_conflicts`` first, then resolves them all or none.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ... import review
from ...db import Base, VirtualFile
from ...errors import ValidationFailed
from ...processing.after_match import PERSON_FIELDS
from ...security import CONFLICTS
from ..guard import requires
from ..paging import PAGE_SIZE, Page, requested_page

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")

ACTIONS = {"take": "Take incoming", "keep": "Keep LA"}
_BULK_LIMIT = 5000  # one bulk action resolves at most this many; the list says how many remain
_BULK_PAGE = 500


def _filters(source) -> dict:
    return {"base": source.get("base") or None,
            "field": source.get("field") if source.get("field") in PERSON_FIELDS else None,
            "person_id": source.get("person", type=int)}


def _file_names(items) -> dict[str, str]:
    ids = {item["file_id"] for item in items if item["file_id"]}
    if not ids:
        return {}
    return dict(g.db.execute(select(VirtualFile.id, VirtualFile.file_name).where(VirtualFile.id.in_(ids))).all())


def _done_message() -> str:
    count, action = request.args.get("resolved", type=int), request.args.get("action", "")
    if not count or action not in ACTIONS:
        return ""
    verb = "took the incoming value" if action == "take" else "kept the LA value"
    return f"{count} conflict{'s' if count != 1 else ''} resolved: {verb}"


@bp.get("/")
@requires(CONFLICTS)
def index():
    filters, number = _filters(request.args), requested_page()
    result = review.list_conflicts(g.db, g.user, page=number, page_size=PAGE_SIZE, **filters)
    g.db.commit()
    bases = [(b.laestab, f"{b.laestab} {b.name}") for b in g.db.scalars(select(Base).order_by(Base.laestab))]
    return render_template("conflicts/index.html", page=Page(number, PAGE_SIZE, result["total"], result["items"]),
                           bases=bases, fields=PERSON_FIELDS, args=request.args, actions=ACTIONS,
                           done=_done_message())


@bp.get("/person/<int:person_id>")
@requires(CONFLICTS)
def person(person_id: int):
    result = review.list_conflicts(g.db, g.user, person_id=person_id, page_size=500)
    g.db.commit()
    if not result["items"]:
        return redirect(url_for("conflicts.index", resolved=request.args.get("resolved"),
                                action=request.args.get("action")))
    return render_template("conflicts/person.html", items=result["items"], first=result["items"][0],
                           files=_file_names(result["items"]), actions=ACTIONS, done=_done_message())


def _action() -> str:
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise ValidationFailed("choose Take incoming or Keep LA")
    return action


def _back(count: int, action: str):
    target = request.form.get("back", "")
    if target.startswith("person:") and target[7:].isdigit():
        return redirect(url_for("conflicts.person", person_id=int(target[7:]), resolved=count, action=action))
    return redirect(url_for("conflicts.index", **_filters(request.form), resolved=count, action=action))


@bp.post("/<int:conflict_id>/resolve")
@requires(CONFLICTS, write=True)
def resolve(conflict_id: int):
    action = _action()
    review.resolve_conflict(g.db, g.user, conflict_id, action)
    g.db.commit()
    return _back(1, action)


def _every_id_in_filter() -> list[int]:
    ids: list[int] = []
    number = 1
    while len(ids) < _BULK_LIMIT:
        result = review.list_conflicts(g.db, g.user, page=number, page_size=_BULK_PAGE, **_filters(request.form))
        ids.extend(item["id"] for item in result["items"])
        if number * _BULK_PAGE >= result["total"]:
            break
        number += 1
    return ids[:_BULK_LIMIT]


@bp.post("/bulk")
@requires(CONFLICTS, write=True)
def bulk():
    action = _action()
    if request.form.get("scope") == "filter":
        ids = _every_id_in_filter()
    else:
        ids = [int(i) for i in request.form.getlist("conflict") if i.isdigit()]
    if not ids:
        abort(400, "Select at least one conflict")
    review.resolve_conflicts(g.db, g.user, ids, action)
    g.db.commit()
    return _back(len(ids), action)
