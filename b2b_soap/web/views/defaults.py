"""System defaults: everyone with Administration reads them; Read-Write changes them.

Values are validated by ``b2b_soap.defaults.set_default``; a refused value is shown beside its field.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ...defaults import list_defaults, set_default
from ...errors import ValidationFailed
from ...security import ADMINISTRATION
from ..guard import allowed, requires

bp = Blueprint("defaults", __name__, url_prefix="/defaults")


def _page(errors: dict[str, str] | None = None, entered: dict[str, str] | None = None, status: int = 200):
    settings = current_app.config["B2B_CTX"].settings
    return render_template("defaults.html", rows=list_defaults(g.db, settings), errors=errors or {},
                           entered=entered or {}, editable=allowed(ADMINISTRATION, write=True),
                           saved=request.args.get("saved") == "1"), status


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    return _page()


@bp.post("/")
@requires(ADMINISTRATION, write=True)
def save():
    settings = current_app.config["B2B_CTX"].settings
    current = {row["name"]: row["value"] for row in list_defaults(g.db, settings)}
    entered = {name: request.form.get(name, value).strip() for name, value in current.items()}
    errors = {}
    for name, value in entered.items():
        if value == current[name]:
            continue
        try:
            set_default(g.db, g.user.username, name, value)
        except ValidationFailed as exc:
            errors[name] = exc.message
    if errors:
        g.db.rollback()  # all or nothing: one refused value changes none
        return _page(errors, entered, 400)
    g.db.commit()
    return redirect(url_for("defaults.index", saved="1"))
