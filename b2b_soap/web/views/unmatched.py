"""Unmatched: the paged, filtered list, the record page beside its candidates, and the decisions.

Listing (with B2B_S_AGE), matching, creating a person and rejecting are ``review``'s; this
module turns forms into their arguments and their answers into pages.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ... import review
from ...db import Base, IncomingRecord, Person
from ...errors import ValidationFailed
from ...security import UNMATCHED
from ...tasks import NC_YEARS
from ..guard import requires
from ..listing import Errors, choice, date_boxes, keep_list_state, whole
from ..paging import PAGE_SIZE, Page, requested_page

bp = Blueprint("unmatched", __name__, url_prefix="/unmatched")
keep_list_state(bp, "unmatched.index")

COMPARED = (("forename", "Forename"), ("middle_names", "Middle names"), ("surname", "Surname"),
            ("dob", "Date of birth"), ("gender", "Gender"), ("upn", "UPN"), ("address", "Address"),
            ("town", "Town"), ("postcode", "Postcode"))
_DONE = {"matched": "The record has been matched", "created": "A new person has been created and matched",
         "rejected": "The record has been rejected",
         "reopened": "The decision has been undone: the record is waiting for a decision again",
         "rematched": "The decision has been undone and the record matched to the other person"}
KINDS = (("pupil", "Pupils"), ("contact", "Carers and contacts"), ("both", "Pupils and contacts"))
_SEARCH_LIMIT = 25


def _settings():
    return current_app.config["B2B_CTX"].settings


def _bases() -> list[tuple[str, str]]:
    return [(b.laestab, f"{b.laestab} {b.name}") for b in g.db.scalars(select(Base).order_by(Base.laestab))]


def _filters(bases: list[tuple[str, str]]) -> tuple[dict, Errors]:
    """The list's filters, sort and search from the query string, as ``list_unmatched`` arguments, and any errors."""
    errors: Errors = []
    args = request.args
    received_from = date_boxes(args, "received_from", "Received from", errors)
    received_to = date_boxes(args, "received_to", "Received to", errors)
    candidates = choice(args, "candidates", "Candidates", ("yes", "no"), errors)
    return {"base": choice(args, "base", "Base", {laestab for laestab, _ in bases}, errors),
            "ncy": choice(args, "ncy", "Year group", NC_YEARS, errors),
            "min_age": whole(args, "min_age", "Youngest age", errors),
            "max_age": whole(args, "max_age", "Oldest age", errors),
            "received_from": datetime.combine(received_from, datetime.min.time()) if received_from else None,
            "received_to": datetime.combine(received_to + timedelta(days=1), datetime.min.time()) if received_to else None,
            "has_candidates": {"yes": True, "no": False}.get(candidates or ""),
            "search": args.get("q", "").strip()[:100],
            "sort": choice(args, "sort", "Sort", review.UNMATCHED_SORTS, errors) or "received",
            "kind": choice(args, "kind", "Show", dict(KINDS), errors) or "pupil"}, errors


_BULK_DONE = {"rejected": "{} records rejected", "created": "{} new people created and matched"}
_PROBLEMS = {"none_selected": ("bulk-first", "Select at least one pupil"),
             "no_reason": ("reason", "Enter why the selected pupils are rejected")}


def _done() -> str:
    count = request.args.get("count", type=int)
    if count and request.args.get("done") in _BULK_DONE:
        return _BULK_DONE[request.args["done"]].format(count)
    return _DONE.get(request.args.get("done", ""), "")


@bp.get("/")
@requires(UNMATCHED)
def index():
    bases = _bases()
    filters, errors = _filters(bases)
    page = Page(requested_page(), PAGE_SIZE, 0)
    if not errors:
        result = review.list_unmatched(g.db, g.user, _settings(), page=page.number, page_size=PAGE_SIZE, **filters)
        g.db.commit()  # review audits who listed what
        page.total, page.items = result["total"], result["items"]
    problem = _PROBLEMS.get(request.args.get("problem", ""))
    return render_template("unmatched/index.html", page=page, bases=bases, ncys=NC_YEARS, kinds=KINDS,
                           args=request.args,
                           errors=errors + ([problem] if problem else []), done=_done(),
                           sorts=[(key, label) for key, (label, _) in review.UNMATCHED_SORTS.items()]), \
        400 if errors else 200


@bp.post("/bulk")
@requires(UNMATCHED, write=True)
def bulk():
    """Reject (with a reason) or create new people for the ticked pupils, all or none."""
    ids = [int(i) for i in request.form.getlist("record") if i.isdigit()]
    action, reason = request.form.get("action", ""), request.form.get("reason", "").strip()[:2000]
    if action not in _BULK_DONE:
        raise ValidationFailed("choose Reject or Create new people")
    if not ids:
        return redirect(url_for("unmatched.index", problem="none_selected"))
    if action == "rejected" and not reason:
        return redirect(url_for("unmatched.index", problem="no_reason"))
    for incoming_id in ids:
        if action == "rejected":
            review.reject_incoming(g.db, g.user, incoming_id, reason)
        else:
            review.create_person_from_incoming(g.db, g.user, incoming_id, settings=_settings())
    g.db.commit()
    return redirect(url_for("unmatched.index", done=action, count=len(ids)))


@bp.get("/<int:incoming_id>")
@requires(UNMATCHED)
def show(incoming_id: int):
    return _record_page(incoming_id)


def _record_page(incoming_id: int, errors: list | None = None) -> str:
    record = review.get_incoming(g.db, g.user, incoming_id)
    g.db.commit()
    base = g.db.scalar(select(Base).join(IncomingRecord, IncomingRecord.base_id == Base.id)
                       .where(IncomingRecord.id == incoming_id))
    return render_template("unmatched/show.html", record=record, base=base, compared=COMPARED,
                           done=_DONE.get(request.args.get("done", "")), errors=errors or [])


@bp.get("/<int:incoming_id>/search")
@requires(UNMATCHED)
def search(incoming_id: int):
    record = review.get_incoming(g.db, g.user, incoming_id)
    errors: Errors = []
    born = date_boxes(request.args, "dob", "Date of birth", errors)
    asked = {k: request.args.get(k, "").strip() for k in ("surname", "forename", "upn", "postcode")}
    asked["dob"] = born.isoformat() if born else ""
    people = None
    if not errors and any(asked.values()):
        if not (asked["surname"] or asked["dob"] or asked["upn"]):
            errors.append(("surname", "Enter a surname, a date of birth or a UPN"))
        else:
            people = review.search_persons(g.db, g.user, _settings(), incoming_id, asked, limit=_SEARCH_LIMIT)
    g.db.commit()
    return render_template("unmatched/search.html", record=record, asked=asked, errors=errors, people=people,
                           compared=COMPARED, limit=_SEARCH_LIMIT)


def _after(record_id: int, done: str):
    """Back to the pupil page after deciding a carer; to the pupil's own contacts while any wait;
    else back to the list."""
    pupil_id = g.db.scalar(select(IncomingRecord.pupil_id).where(IncomingRecord.id == record_id))
    if pupil_id:
        return redirect(url_for("unmatched.show", incoming_id=pupil_id, done=done, _anchor=f"contact-{record_id}"))
    waiting = g.db.scalar(select(IncomingRecord.id).where(IncomingRecord.pupil_id == record_id,
                                                          IncomingRecord.status == "unmatched").limit(1))
    if waiting:
        return redirect(url_for("unmatched.show", incoming_id=record_id, done=done, _anchor="contacts"))
    return redirect(url_for("unmatched.index", done=done))


def _by_hand(incoming_id: int, decide):
    """Match or re-match to the person the form names: the decision, or the record page with the refusal."""
    person_id = request.form.get("person_id", type=int)
    if not person_id:
        raise ValidationFailed("choose the person to match this record to")
    try:
        result = decide(g.db, g.user, incoming_id, person_id, settings=_settings())
    except ValidationFailed as refused:
        g.db.rollback()
        return _record_page(incoming_id, [(f"person_id-{incoming_id}", refused.message)]), 400
    g.db.commit()
    return result


@bp.post("/<int:incoming_id>/match")
@requires(UNMATCHED, write=True)
def match(incoming_id: int):
    result = _by_hand(incoming_id, review.match_incoming)
    return result if isinstance(result, tuple) else _after(incoming_id, "matched")


@bp.post("/<int:incoming_id>/create")
@requires(UNMATCHED, write=True)
def create(incoming_id: int):
    review.create_person_from_incoming(g.db, g.user, incoming_id, settings=_settings())
    g.db.commit()
    return _after(incoming_id, "created")


@bp.post("/<int:incoming_id>/reject")
@requires(UNMATCHED, write=True)
def reject(incoming_id: int):
    review.reject_incoming(g.db, g.user, incoming_id, request.form.get("reason", "").strip()[:2000])
    g.db.commit()
    return _after(incoming_id, "rejected")


def _people(ids) -> dict[int, Person]:
    wanted = {i for i in ids if i}
    return {p.id: p for p in g.db.scalars(select(Person).where(Person.id.in_(wanted)))} if wanted else {}


def _undo_page(incoming_id: int, person_id: int | None = None):
    """The confirmation page of an undo (``person_id``: of a re-match), saying what will change."""
    plan = review.undo_plan(g.db, g.user, incoming_id)
    record = review.get_incoming(g.db, g.user, incoming_id)
    g.db.commit()
    people = _people([plan["person_id"], person_id, *(link[k] for link in plan["carer_links"]
                                                      for k in ("child_id", "carer_id"))])
    if person_id is not None and person_id not in people:
        return _record_page(incoming_id, [(f"person_id-{incoming_id}", f"There is no person {person_id}")]), 400
    return render_template("unmatched/undo.html", plan=plan, record=record, people=people, person_id=person_id)


@bp.get("/<int:incoming_id>/reopen")
@requires(UNMATCHED, write=True)
def confirm_reopen(incoming_id: int):
    return _undo_page(incoming_id)


@bp.post("/<int:incoming_id>/reopen")
@requires(UNMATCHED, write=True)
def reopen(incoming_id: int):
    plan = review.reopen_incoming(g.db, g.user, incoming_id)
    g.db.commit()
    return redirect(url_for("unmatched.show", incoming_id=plan["reopened_id"], done="reopened"))


@bp.get("/<int:incoming_id>/rematch")
@requires(UNMATCHED, write=True)
def confirm_rematch(incoming_id: int):
    person_id = request.args.get("person_id", "").strip()
    if not person_id.isdigit():
        return _record_page(incoming_id, [(f"person_id-{incoming_id}",
                                           "Enter the person number to match to, like 1234")]), 400
    return _undo_page(incoming_id, int(person_id))


@bp.post("/<int:incoming_id>/rematch")
@requires(UNMATCHED, write=True)
def rematch(incoming_id: int):
    result = _by_hand(incoming_id, review.rematch_incoming)
    if isinstance(result, tuple):
        return result
    return redirect(url_for("unmatched.show", incoming_id=result["incoming_id"], done="rematched"))
