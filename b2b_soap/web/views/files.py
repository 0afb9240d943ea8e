"""Files: every virtual file with its base, status, counts and validation errors; retry for failed ones."""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ... import review

from ...db import Base, VirtualFile
from ...security import ADMINISTRATION, REPORTS
from ..guard import requires
from ..paging import PAGE_SIZE, Page, requested_page

bp = Blueprint("files", __name__, url_prefix="/files")

STATUSES = ("Receiving", "Received", "Rejected", "Processing", "Processed", "Failed")


@bp.get("/")
@requires(REPORTS)
def index():
    base = request.args.get("base") or None
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    number = requested_page()
    result = review.list_files(g.db, g.user, base=base, status=status, page=number, page_size=PAGE_SIZE)
    g.db.commit()
    bases = [(b.laestab, f"{b.laestab} {b.name}") for b in g.db.scalars(select(Base).order_by(Base.laestab))]
    return render_template("files/index.html", page=Page(number, PAGE_SIZE, result["total"], result["items"]),
                           bases=bases, base=base or "", status=status or "", statuses=STATUSES)


@bp.get("/<file_id>")
@requires(REPORTS)
def show(file_id: str):
    vf = g.db.get(VirtualFile, file_id)
    if vf is None:
        abort(404)
    return render_template("files/show.html", vf=vf, base=g.db.get(Base, vf.base_id),
                           retried=request.args.get("retried") == "1")


@bp.post("/<file_id>/retry")
@requires(ADMINISTRATION, write=True)
def retry(file_id: str):
    review.retry_file(g.db, g.user, file_id)
    g.db.commit()
    return redirect(url_for("files.show", file_id=file_id, retried="1"))
