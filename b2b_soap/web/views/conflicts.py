"""Matched with Conflicts: the filtered list, a pupil's conflicting fields, and take/keep one or many.

Resolving is ``review``'s. "All N conflicts this filter shows" first shows a confirmation page
with the exact count and the filter; confirming resolves exactly those N (in batches, all or
none) or refuses with the reason. A filter that cannot be read is an error on the form.
"""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ... import review
from ...db import Base, VirtualFile
from ...errors import ValidationFailed
from ...processing.after_match import PERSON_FIELDS
from ...security import CONFLICTS
from ..guard import requires
from ..listing import Errors, choice, keep_list_state, whole
from ..paging import PAGE_SIZE, Page, requested_page

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")
keep_list_state(bp, "conflicts.index")

ACTIONS = {"take": "Take incoming", "keep": "Keep LA"}
_VERBS = {"take": "took the incoming value", "keep": "kept the LA value"}


def _bases() -> list[tuple[str, str]]:
    return [(b.laestab, f"{b.laestab} {b.name}") for b in g.db.scalars(select(Base).order_by(Base.laestab))]


def _filters(source, bases: list[tuple[str, str]]) -> tuple[dict, Errors]:
    """The filter from a query string or form, as ``review`` arguments, and anything that could not be read."""
    errors: Errors = []
    filters = {"base": choice(source, "base", "Base", {laestab for laestab, _ in bases}, errors),
               "field": choice(source, "field", "Field", PERSON_FIELDS, errors),
               "person_id": whole(source, "person", "Person number", errors, most=2**62)}
    return filters, errors


def _described(filters: dict) -> str:
    parts = [f"base {filters['base']}" if filters["base"] else "",
             f"field {filters['field']}" if filters["field"] else "",
             f"person {filters['person_id']}" if filters["person_id"] is not None else ""]
    return ", ".join(p for p in parts if p) or "no filter: every open conflict"


def _file_names(items) -> dict[str, str]:
    ids = {item["file_id"] for item in items if item["file_id"]}
    if not ids:
        return {}
    return dict(g.db.execute(select(VirtualFile.id, VirtualFile.file_name).where(VirtualFile.id.in_(ids))).all())


def _done_message() -> str:
    count, action = request.args.get("resolved", type=int), request.args.get("action", "")
    if not count or action not in ACTIONS:
        return ""
    return f"{count} conflict{'s' if count != 1 else ''} resolved: {_VERBS[action]}"


_PROBLEMS = {"none_selected": ("scope-selected", "Select at least one conflict, "
                                               "or choose all the conflicts this filter shows")}


def _list_page():
    bases = _bases()
    filters, errors = _filters(request.args, bases)
    page = Page(requested_page(), PAGE_SIZE, 0)
    if not errors:
        result = review.list_conflicts(g.db, g.user, page=page.number, page_size=PAGE_SIZE, **filters)
        g.db.commit()
        page.total, page.items = result["total"], result["items"]
    problem = _PROBLEMS.get(request.args.get("problem", ""))
    return render_template("conflicts/index.html", page=page, bases=bases, fields=PERSON_FIELDS, args=request.args,
                           actions=ACTIONS, done=_done_message(), errors=errors + ([problem] if problem else [])), \
        400 if errors else 200


@bp.get("/")
@requires(CONFLICTS)
def index():
    return _list_page()


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


def _action(source) -> str:
    action = source.get("action", "")
    if action not in ACTIONS:
        raise ValidationFailed("choose Take incoming or Keep LA")
    return action


def _back(count: int, action: str):
    target = request.form.get("back", "")
    if target.startswith("person:") and target[7:].isdigit():
        return redirect(url_for("conflicts.person", person_id=int(target[7:]), resolved=count, action=action))
    return redirect(url_for("conflicts.index", resolved=count, action=action))


@bp.post("/<int:conflict_id>/resolve")
@requires(CONFLICTS, write=True)
def resolve(conflict_id: int):
    action = _action(request.form)
    review.resolve_conflict(g.db, g.user, conflict_id, action)
    g.db.commit()
    return _back(1, action)


@bp.post("/bulk")
@requires(CONFLICTS, write=True)
def bulk():
    action = _action(request.form)
    if request.form.get("scope") == "filter":
        filters, errors = _filters(request.form, _bases())
        if errors:
            raise ValidationFailed("; ".join(message for _, message in errors))
        args = {"base": filters["base"], "field": filters["field"], "person": filters["person_id"]}
        return redirect(url_for("conflicts.confirm", do=action, **{k: v for k, v in args.items() if v is not None}))
    ids = [int(i) for i in request.form.getlist("conflict") if i.isdigit()]
    if not ids:
        return redirect(url_for("conflicts.index", problem="none_selected"))
    review.resolve_conflicts(g.db, g.user, ids, action)
    g.db.commit()
    return _back(len(ids), action)


def _confirm_page(filters: dict, action: str, refusal: str = "", status: int = 200):
    result = review.list_conflicts(g.db, g.user, page_size=1, **filters)
    g.db.commit()
    return render_template("conflicts/confirm.html", total=result["total"], filters=filters, action=action,
                           label=ACTIONS[action], described=_described(filters), refusal=refusal), status


@bp.get("/confirm")
@requires(CONFLICTS, write=True)
def confirm():
    filters, errors = _filters(request.args, _bases())
    if errors:
        return redirect(url_for("conflicts.index", **{k: v for k, v in request.args.items() if k != "do"}))
    return _confirm_page(filters, _action({"action": request.args.get("do", "")}))


@bp.post("/resolve-all")
@requires(CONFLICTS, write=True)
def resolve_all():
    filters, errors = _filters(request.form, _bases())
    action = _action(request.form)
    expected = whole(request.form, "expected", "Confirmed count", errors, most=2**62)
    if errors or expected is None:
        raise ValidationFailed("the confirmation form was incomplete: go back to the list and choose the action again")
    try:
        done = review.resolve_filtered_conflicts(g.db, g.user, action, expected, **filters)
    except ValidationFailed as refused:
        g.db.rollback()
        return _confirm_page(filters, action, refused.message, 409)
    g.db.commit()
    return redirect(url_for("conflicts.index", resolved=done, action=action))
