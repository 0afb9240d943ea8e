"""Set-up pages: bases and their B2B Student Base flag, users, groups and permissions, the licence,
aspect hierarchies and attainment suspense.

Each change calls the same ``admin``/``attainment`` function as the CLI command (which audits it);
a refused change shows the page again with the reason.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ...attainment.hierarchies import find_hierarchy, hierarchy_aspects, list_hierarchies
from ...attainment.suspense import list_suspense, suspense_to_dict
from ...errors import B2BError
from ...licensing import current_licence, install_licence
from ...security import ADMINISTRATION, LA_PROCESSES, LEVELS, REPORTS
from ...setup import bases, groups, users
from ..guard import requires

bp = Blueprint("setup", __name__, url_prefix="/setup")

_SUSPENSE_SHOWN = 500


def _settings():
    return current_app.config["B2B_CTX"].settings


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


def _change(page: Callable, endpoint: str, done: str, change: Callable[[str], object]):
    """Run ``change(actor)`` and commit, then back to ``endpoint`` saying ``done``; a refusal shows
    ``page`` again with the reason."""
    try:
        change(g.user.username)
    except B2BError as refused:
        g.db.rollback()
        return page(error=refused.message), 400
    g.db.commit()
    return redirect(url_for(endpoint, done=done))


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    return render_template("setup/index.html")


def _bases_page(error: str = "") -> str:
    return render_template("setup/bases.html", bases=bases.list_bases(g.db), error=error,
                           done=request.args.get("done", ""))


@bp.get("/bases")
@requires(ADMINISTRATION)
def bases_list():
    return _bases_page()


@bp.post("/bases")
@requires(ADMINISTRATION, write=True)
def bases_add():
    laestab = _form("laestab")
    return _change(_bases_page, "setup.bases_list", f"Base {laestab} added", lambda actor: bases.add_base(
        g.db, actor, laestab, _form("name"), _form("phase"), b2b_enabled=request.form.get("b2b") == "yes"))


@bp.post("/bases/<laestab>/b2b")
@requires(ADMINISTRATION, write=True)
def bases_flag(laestab: str):
    enabled = request.form.get("enabled") == "yes"
    state = "is now" if enabled else "is no longer"
    return _change(_bases_page, "setup.bases_list", f"Base {laestab} {state} a B2B Student Base",
                   lambda actor: bases.set_b2b(g.db, actor, laestab, enabled))


def _users_page(error: str = "") -> str:
    return render_template("setup/users.html", users=users.list_users(g.db), error=error,
                           bases=bases.list_bases(g.db), done=request.args.get("done", ""))


@bp.get("/users")
@requires(ADMINISTRATION)
def users_list():
    return _users_page()


@bp.post("/users")
@requires(ADMINISTRATION, write=True)
def users_add():
    username = _form("username")
    return _change(_users_page, "setup.users_list", f"User {username} added", lambda actor: users.add_user(
        g.db, _settings().security, actor, username, request.form.get("password", ""),
        base=_form("base") or None, full_name=_form("full_name")))


@bp.post("/users/<username>/password")
@requires(ADMINISTRATION, write=True)
def users_password(username: str):
    return _change(_users_page, "setup.users_list", f"The password of {username} has been reset", lambda actor: users.set_password(
        g.db, _settings().security, actor, username, request.form.get("password", "")))


@bp.post("/users/<username>/unlock")
@requires(ADMINISTRATION, write=True)
def users_unlock(username: str):
    return _change(_users_page, "setup.users_list", f"User {username} unlocked", lambda actor: users.unlock_user(g.db, actor, username))


def _groups_page(error: str = "") -> str:
    return render_template("setup/groups.html", groups=groups.list_groups(g.db), processes=LA_PROCESSES,
                           levels=LEVELS, error=error, done=request.args.get("done", ""))


@bp.get("/groups")
@requires(ADMINISTRATION)
def groups_list():
    return _groups_page()


@bp.post("/groups")
@requires(ADMINISTRATION, write=True)
def groups_add():
    name = _form("name")
    return _change(_groups_page, "setup.groups_list", f"Group {name} added",
                   lambda actor: groups.add_group(g.db, actor, name, _form("description")))


@bp.post("/groups/grant")
@requires(ADMINISTRATION, write=True)
def groups_grant():
    group = _form("group")
    return _change(_groups_page, "setup.groups_list", f"Permission of {group} set",
                   lambda actor: groups.grant(g.db, actor, group, _form("process"), _form("level")))


@bp.post("/groups/member")
@requires(ADMINISTRATION, write=True)
def groups_member():
    group, username = _form("group"), _form("username")
    return _change(_groups_page, "setup.groups_list", f"{username} added to {group}",
                   lambda actor: groups.add_member(g.db, actor, group, username))


def _licence_page(error: str = "") -> str:
    return render_template("setup/licence.html", info=current_licence(g.db, _settings()), error=error,
                           done=request.args.get("done", ""))


@bp.get("/licence")
@requires(ADMINISTRATION)
def licence():
    return _licence_page()


@bp.post("/licence")
@requires(ADMINISTRATION, write=True)
def licence_install():
    return _change(_licence_page, "setup.licence", "The licence has been installed",
                   lambda actor: install_licence(g.db, _settings(), actor, request.form.get("key", "")))


@bp.get("/hierarchies")
@requires(REPORTS)
def hierarchies():
    return render_template("setup/hierarchies.html", hierarchies=list_hierarchies(g.db))


@bp.get("/hierarchies/<int:hierarchy_id>")
@requires(REPORTS)
def hierarchy(hierarchy_id: int):
    found = find_hierarchy(g.db, hierarchy_id)
    return render_template("setup/hierarchy.html", hierarchy=found, aspects=hierarchy_aspects(g.db, found.id))


@bp.get("/suspense")
@requires(REPORTS)
def suspense():
    items = [suspense_to_dict(item) for item in list_suspense(g.db, limit=_SUSPENSE_SHOWN + 1)]
    return render_template("setup/suspense.html", items=items[:_SUSPENSE_SHOWN],
                           more=len(items) > _SUSPENSE_SHOWN, shown=_SUSPENSE_SHOWN)
