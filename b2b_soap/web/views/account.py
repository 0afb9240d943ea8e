"""Sign in, sign out and the home page.

Credentials go through ``security.auth.authenticate``: the same passwords, lockout and audit
as the SOAP service. Only LA users get a session; a school user's correct password is refused.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for

from ... import review
from ...errors import AccountLocked, AuthenticationFailed
from ...security import CONFLICTS, REPORTS, UNMATCHED, audit
from ...security.auth import Credentials, authenticate
from ..guard import NAVIGATION, allowed
from ..sessions import SESSION_COOKIE, SIGN_IN_COOKIE, end_session, start_session

bp = Blueprint("account", __name__)

_WRONG = "Enter a correct user name and password"
_LOCKED = "This account is locked after repeated failed sign-ins. Wait, or ask an LA administrator to unlock it"
_NOT_LA = "Only LA staff accounts can sign in here. School accounts are used by SIMS only"


def _cookie_options() -> dict:
    return {"httponly": True, "samesite": "Lax", "secure": request.is_secure,
            "path": (request.script_root or "") + "/"}


def _safe_next(target: str | None) -> str:
    """Only a path inside this app: never another site."""
    if not target:
        return url_for("account.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("account.home")
    root = request.script_root or ""
    return target if target.startswith(root + "/") else root + target


def _sign_in_form(error: str = "", username: str = "", status: int = 200):
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    page = render_template("sign_in.html", error=error, username=username, sign_in_token=token,
                           next=request.args.get("next", ""), expired=request.args.get("expired") == "1"
                           or g.get("session_expired", False))
    response = make_response(page, status)
    response.set_cookie(SIGN_IN_COOKIE, token, **{**_cookie_options(), "samesite": "Strict"})
    return response


@bp.get("/sign-in")
def sign_in():
    if g.user is not None:
        return redirect(url_for("account.home"))
    return _sign_in_form()


@bp.post("/sign-in")
def sign_in_post():
    ctx = current_app.config["B2B_CTX"]
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")
    if not username or not password:
        return _sign_in_form(_WRONG, username, 400)
    try:
        user = authenticate(ctx.sessions, ctx.settings, Credentials(username, password, "web"))
    except AccountLocked:
        return _sign_in_form(_LOCKED, username, 403)
    except AuthenticationFailed:
        return _sign_in_form(_WRONG, username, 401)
    if user.kind != "la":
        audit(g.db, username, "web.sign_in_refused", "user", user.id, detail="not an LA user")
        g.db.commit()
        return _sign_in_form(_NOT_LA, username, 403)
    user = g.db.merge(user)
    token, _row = start_session(g.db, user, g.now)
    audit(g.db, user.username, "web.sign_in", "user", user.id)
    g.db.commit()
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(SESSION_COOKIE, token, **_cookie_options())
    response.delete_cookie(SIGN_IN_COOKIE, path=_cookie_options()["path"])
    return response


@bp.post("/sign-out")
def sign_out():
    if g.web_session is not None:
        end_session(g.db, g.web_session)
        audit(g.db, g.user.username, "web.sign_out", "user", g.user.id)
        g.db.commit()
    response = redirect(url_for("account.sign_in", signed_out="1"))
    response.delete_cookie(SESSION_COOKIE, path=_cookie_options()["path"])
    return response


def _waiting() -> list[tuple[str, str, int]]:
    """(label, address, count) of each queue of waiting work the user may read."""
    ctx = current_app.config["B2B_CTX"]
    queues = []
    if allowed(UNMATCHED):
        total = review.list_unmatched(g.db, g.user, ctx.settings, page_size=1)["total"]
        queues.append(("Unmatched pupils", url_for("unmatched.index", sort="oldest"), total))
    if allowed(CONFLICTS):
        queues.append(("Open conflicts", url_for("conflicts.index"), review.list_conflicts(g.db, g.user, page_size=1)["total"]))
    if allowed(REPORTS):
        failed = review.list_files(g.db, g.user, status="Failed", page_size=1)["total"]
        queues.append(("Files that failed", url_for("files.index", status="Failed"), failed))
    g.db.commit()
    return queues


@bp.get("/")
def home():
    sections = [item for item in NAVIGATION if allowed(item.process)]
    return render_template("home.html", sections=sections, waiting=_waiting())
