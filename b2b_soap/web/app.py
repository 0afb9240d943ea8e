"""The LA review web app: a Flask WSGI callable meant to be mounted under ``/la/``.

Every request opens one database session, checks the licence, loads the signed-in LA user
from the server-side session and, for a POST, checks the form's CSRF token before any view
runs. Views call the same service functions as the admin SOAP service and the CLI.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..context import AppContext
from ..db import User, utcnow
from ..errors import B2BError, NotFound, PermissionDenied, ValidationFailed
from ..licensing import B2B_STUDENT, current_licence
from ..security import is_locked, user_permissions
from . import filters
from .guard import NAVIGATION, allowed
from .sessions import SESSION_COOKIE, SIGN_IN_COOKIE, SessionPolicy, end_session, load_session, same_token

__all__ = ["make_web_app"]

log = logging.getLogger(__name__)

_PUBLIC = {"account.sign_in", "account.sign_in_post", "static"}
_HERE = Path(__file__).resolve().parent

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def make_web_app(ctx: AppContext, idle_timeout: timedelta = timedelta(minutes=30)) -> Flask:
    """Build the web app over ``ctx``'s database and settings.

    Args:
        ctx: the process's app context (settings, database sessions).
        idle_timeout: a session unused this long is signed out.
    """
    app = Flask(__name__, template_folder=str(_HERE / "templates"), static_folder=str(_HERE / "static"))
    app.config.update(B2B_CTX=ctx, B2B_SESSION_POLICY=SessionPolicy(idle=idle_timeout),
                      MAX_CONTENT_LENGTH=1024 * 1024)
    filters.register(app)
    _register_hooks(app, ctx)
    _register_errors(app)
    _register_views(app)
    return app


def _register_views(app: Flask) -> None:
    from .views import account, alerts, conflicts, defaults, files, jobs, reports, setup, tasks, unmatched
    for module in (account, unmatched, conflicts, files, reports, tasks, jobs, alerts, defaults, setup):
        app.register_blueprint(module.bp)


def _register_hooks(app: Flask, ctx: AppContext) -> None:
    @app.before_request
    def _open():
        g.db, g.now, g.user, g.permissions, g.web_session = ctx.sessions(), utcnow(), None, {}, None
        if request.endpoint == "static":
            return None
        info = current_licence(g.db, ctx.settings)
        if info is None or not info.has(B2B_STUDENT):
            return render_template("not_licensed.html"), 403
        return _load_user(app) or _check_csrf()

    @app.teardown_request
    def _close(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def _headers(response):
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _template_globals():
        nav = [item for item in NAVIGATION if allowed(item.process)]
        return {"navigation": nav, "allowed": allowed, "la_name": ctx.settings.la.name,
                "csrf_token": g.web_session.csrf_token if g.get("web_session") else ""}


def _load_user(app: Flask):
    """Load the session's LA user; send anyone else to sign in."""
    row, expired = load_session(g.db, request.cookies.get(SESSION_COOKIE),
                                app.config["B2B_SESSION_POLICY"], g.now)
    user = g.db.get(User, row.user_id) if row else None
    if user is not None and user.kind == "la" and not is_locked(user, g.now):
        g.user, g.web_session = user, row
        g.permissions = user_permissions(g.db, user.id)
        return None
    if row is not None:  # the account was locked or changed since sign-in: the session ends here
        end_session(g.db, row)
        g.db.commit()
    if request.endpoint in _PUBLIC:
        g.session_expired = expired
        return None
    if request.method != "GET":
        return render_template("problem.html", title="You are signed out",
                               message="Your session has ended. Sign in again and repeat the action."), 403
    args = {"next": request.full_path if request.query_string else request.path}
    if expired:
        args["expired"] = "1"
    return redirect(url_for("account.sign_in", **args))


def _check_csrf():
    """Refuse a POST whose form does not carry this session's CSRF token."""
    if request.method != "POST":
        return None
    expected = g.web_session.csrf_token if g.web_session else request.cookies.get(SIGN_IN_COOKIE, "")
    if same_token(expected, request.form.get("csrf_token")):
        return None
    log.warning("refused a POST to %s without a valid CSRF token", request.path)
    return render_template("problem.html", title="The form could not be sent",
                           message="The form was missing its security token or it had expired. "
                                   "Go back, reload the page and try again."), 400


def _register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        titles = {403: "You do not have permission to see this page", 404: "Page not found"}
        return render_template("problem.html", title=titles.get(exc.code, exc.name),
                               message=exc.description if exc.code == 403 else ""), exc.code

    @app.errorhandler(B2BError)
    def _b2b(exc: B2BError):
        status = {PermissionDenied: 403, NotFound: 404, ValidationFailed: 400}.get(type(exc), 409)
        return render_template("problem.html", title="There is a problem", message=exc.message), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        incident = uuid.uuid4().hex[:12]
        log.exception("web incident %s on %s", incident, request.path)
        return render_template("problem.html", title="Sorry, there is a problem with the service",
                               message=f"Try again later. Incident reference: {incident}."), 500
