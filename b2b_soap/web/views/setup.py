"""Set-up pages: bases and their B2B Student Base flag, users, groups and permissions, the licence,
aspect hierarchies, and attainment suspense with its resolution.

Each change calls the same ``admin``/``attainment`` function as the CLI command (which audits it);
a refused change shows the page again with the reason.
"""
from __future__ import annotations

from typing import Callable, Iterable

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from ...attainment.hierarchies import find_hierarchy, hierarchy_aspects, list_hierarchies
from ...attainment.suspense import list_suspense, resolve_suspense, suspense_to_dict
from ...db import SuspenseItem
from ...errors import B2BError, ValidationFailed
from ...licensing import current_licence, install_licence
from ...security import ADMINISTRATION, LA_PROCESSES, LEVELS, REPORTS, UNMATCHED
from ...setup import bases, groups, users
from ..guard import requires

bp = Blueprint("setup", __name__, url_prefix="/setup")

_SUSPENSE_SHOWN = 500


def _settings():
    return current_app.config["B2B_CTX"].settings


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


# what a change says once made: a fixed text per code, naming at most a base, user or group the page lists
_DONE = {"base_added": "Base {} added", "flag_set": "Base {} is now a B2B Student Base",
         "flag_cleared": "Base {} is no longer a B2B Student Base", "user_added": "User {} added",
         "password_reset": "The password of {} has been reset", "user_unlocked": "User {} unlocked",
         "group_added": "Group {} added", "permission_set": "Permission of {} set",
         "member_added": "A member added to {}", "licence_installed": "The licence has been installed",
         "pupil_matched": "The pupil has been matched: its results with nothing else wrong are imported",
         "aspect_mapped": "The aspect has been mapped: the results with nothing else wrong are imported",
         "result_discarded": "The result has been discarded"}
_RESOLUTIONS = {"person": "pupil_matched", "aspect": "aspect_mapped", "discard": "result_discarded"}


def _done(listed: Iterable[str] = ()) -> str:
    """The message of the ``done`` code, if its ``subject`` is one of ``listed`` (or it names none)."""
    text = _DONE.get(request.args.get("done", ""), "")
    if "{}" not in text:
        return text
    subject = request.args.get("subject", "")
    return text.format(subject) if subject in set(listed) else ""


def _change(page: Callable, endpoint: str, done: str, subject: str, change: Callable[[str], object]):
    """Run ``change(actor)`` and commit, then back to ``endpoint`` with the ``done`` code; a refusal
    shows ``page`` again with the reason."""
    try:
        change(g.user.username)
    except B2BError as refused:
        g.db.rollback()
        return page(error=refused.message), 400
    g.db.commit()
    return redirect(url_for(endpoint, done=done, subject=subject or None))


@bp.get("/")
@requires(ADMINISTRATION)
def index():
    return render_template("setup/index.html")


def _bases_page(error: str = "") -> str:
    listed = bases.list_bases(g.db)
    return render_template("setup/bases.html", bases=listed, error=error,
                           done=_done(b["laestab"] for b in listed))


@bp.get("/bases")
@requires(ADMINISTRATION)
def bases_list():
    return _bases_page()


@bp.post("/bases")
@requires(ADMINISTRATION, write=True)
def bases_add():
    laestab = _form("laestab")
    return _change(_bases_page, "setup.bases_list", "base_added", laestab, lambda actor: bases.add_base(
        g.db, actor, laestab, _form("name"), _form("phase"), b2b_enabled=request.form.get("b2b") == "yes"))


@bp.post("/bases/<laestab>/b2b")
@requires(ADMINISTRATION, write=True)
def bases_flag(laestab: str):
    enabled = request.form.get("enabled") == "yes"
    return _change(_bases_page, "setup.bases_list", "flag_set" if enabled else "flag_cleared", laestab,
                   lambda actor: bases.set_b2b(g.db, actor, laestab, enabled))


def _users_page(error: str = "") -> str:
    listed = users.list_users(g.db)
    return render_template("setup/users.html", users=listed, error=error,
                           bases=bases.list_bases(g.db), done=_done(u["username"] for u in listed))


@bp.get("/users")
@requires(ADMINISTRATION)
def users_list():
    return _users_page()


@bp.post("/users")
@requires(ADMINISTRATION, write=True)
def users_add():
    username = _form("username")
    return _change(_users_page, "setup.users_list", "user_added", username, lambda actor: users.add_user(
        g.db, _settings().security, actor, username, request.form.get("password", ""),
        base=_form("base") or None, full_name=_form("full_name")))


@bp.post("/users/<username>/password")
@requires(ADMINISTRATION, write=True)
def users_password(username: str):
    return _change(_users_page, "setup.users_list", "password_reset", username, lambda actor: users.set_password(
        g.db, _settings().security, actor, username, request.form.get("password", "")))


@bp.post("/users/<username>/unlock")
@requires(ADMINISTRATION, write=True)
def users_unlock(username: str):
    return _change(_users_page, "setup.users_list", "user_unlocked", username,
                   lambda actor: users.unlock_user(g.db, actor, username))


def _groups_page(error: str = "") -> str:
    listed = groups.list_groups(g.db)
    return render_template("setup/groups.html", groups=listed, processes=LA_PROCESSES,
                           levels=LEVELS, error=error, done=_done(group["name"] for group in listed))


@bp.get("/groups")
@requires(ADMINISTRATION)
def groups_list():
    return _groups_page()


@bp.post("/groups")
@requires(ADMINISTRATION, write=True)
def groups_add():
    name = _form("name")
    return _change(_groups_page, "setup.groups_list", "group_added", name,
                   lambda actor: groups.add_group(g.db, actor, name, _form("description")))


@bp.post("/groups/grant")
@requires(ADMINISTRATION, write=True)
def groups_grant():
    group = _form("group")
    return _change(_groups_page, "setup.groups_list", "permission_set", group,
                   lambda actor: groups.grant(g.db, actor, group, _form("process"), _form("level")))


@bp.post("/groups/member")
@requires(ADMINISTRATION, write=True)
def groups_member():
    group, username = _form("group"), _form("username")
    return _change(_groups_page, "setup.groups_list", "member_added", group,
                   lambda actor: groups.add_member(g.db, actor, group, username))


def _licence_page(error: str = "") -> str:
    return render_template("setup/licence.html", info=current_licence(g.db, _settings()), error=error,
                           done=_done())


@bp.get("/licence")
@requires(ADMINISTRATION)
def licence():
    return _licence_page()


@bp.post("/licence")
@requires(ADMINISTRATION, write=True)
def licence_install():
    return _change(_licence_page, "setup.licence", "licence_installed", "",
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
                           more=len(items) > _SUSPENSE_SHOWN, shown=_SUSPENSE_SHOWN, done=_done())


def _suspense_item_page(item_id: int, error: str = "") -> str:
    item = g.db.get(SuspenseItem, item_id)
    if item is None:
        abort(404)
    return render_template("setup/suspense_item.html", item=suspense_to_dict(item),
                           problems=(item.detail or {}).get("problems") or {}, error=error, form=request.form)


@bp.get("/suspense/<int:item_id>")
@requires(UNMATCHED)
def suspense_item(item_id: int):
    return _suspense_item_page(item_id)


def _resolution(action: str) -> dict:
    """``resolve_suspense``'s arguments for the form's action."""
    if action == "person":
        person = _form("person_id")
        if not person.isdigit():
            raise ValidationFailed("Enter the number of the person who is this pupil, like 1234")
        return {"person_id": int(person)}
    if action == "aspect":
        if not _form("aspect_code"):
            raise ValidationFailed("Enter the code of the aspect this result is for, like KS2_ENG_READ")
        return {"aspect_code": _form("aspect_code")}
    return {"discard": True}


@bp.post("/suspense/<int:item_id>")
@requires(UNMATCHED, write=True)
def suspense_resolve(item_id: int):
    """Match the pupil, map the aspect or discard the result, as ``b2b-soap suspense resolve`` does."""
    action = _form("action")
    if action not in _RESOLUTIONS:
        abort(400, "choose to match the pupil, map the aspect or discard the result")
    return _change(lambda error: _suspense_item_page(item_id, error), "setup.suspense", _RESOLUTIONS[action], "",
                   lambda actor: resolve_suspense(g.db, _settings(), actor, item_id, **_resolution(action)))
