"""Sign-in, sessions, CSRF, permissions and the licence gate of the LA web pages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from b2b_soap.db import AuditEntry, Licence, User, WebSession, session_scope
from b2b_soap.web import make_web_app
from b2b_soap.web.sessions import SESSION_COOKIE, token_digest
from test_web_support import PASSWORD, csrf_of, make_context, post_form, sign_in


@pytest.fixture
def world(tmp_path, database_url):
    world = make_context(tmp_path, database_url)
    yield world
    world.ctx.close()


@pytest.fixture
def app(world):
    return make_web_app(world.ctx)


@pytest.fixture
def client(app):
    return app.test_client()


def _audit_actions(world, actor):
    with world.ctx.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id)))


def _pages_need_sign_in(client):
    response = client.get("/unmatched/?base=1")
    assert response.status_code == 302
    assert "/sign-in?next=" in response.headers["Location"]


def _sign_in_sets_secure_server_side_session(client, world):
    response = sign_in(client)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with world.ctx.sessions() as s:
        row = s.get(WebSession, token_digest(token))
        assert row is not None and s.get(User, row.user_id).username == "reviewer"
        assert s.get(WebSession, token) is None  # the cookie value itself is never stored
    home = client.get("/")
    assert home.status_code == 200 and "Signed in as Reviewer" in home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
    assert "web.sign_in" in _audit_actions(world, "reviewer")


def _cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://localhost")
    response = client.post("/sign-in", base_url="https://localhost",
                           data={"username": "reviewer", "password": PASSWORD,
                                 "csrf_token": csrf_of(page.get_data(as_text=True))})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "Secure" in cookie


def _wrong_password_and_lockout_are_shared_with_soap(client, world):
    for _ in range(world.ctx.settings.security.lockout_threshold):
        response = sign_in(client, password="wrong password!!")
        assert response.status_code in (401, 403)
        assert "Enter a correct user name and password" in response.get_data(as_text=True) or \
            "locked" in response.get_data(as_text=True)
    response = sign_in(client)  # the right password no longer helps
    assert response.status_code == 403 and "locked" in response.get_data(as_text=True)
    with world.ctx.sessions() as s:
        user = s.scalar(select(User).where(User.username == "reviewer"))
        assert user.locked_until is not None
    assert "auth.locked" in _audit_actions(world, "reviewer")


def _school_user_is_refused(client, world):
    response = sign_in(client, "school1")
    assert response.status_code == 403
    assert "Only LA staff accounts" in response.get_data(as_text=True)
    with world.ctx.sessions() as s:
        assert s.scalar(select(WebSession.id)) is None
    assert "web.sign_in_refused" in _audit_actions(world, "school1")


def _sign_in_form_needs_its_csrf_token(client):
    client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "reviewer", "password": PASSWORD})
    assert response.status_code == 400


def _post_without_csrf_token_is_refused(client, world):
    sign_in(client)
    response = client.post("/defaults/", data={"B2B_S_AGE": "17"})
    assert response.status_code == 400
    response = client.post("/defaults/", data={"B2B_S_AGE": "17", "csrf_token": "forged"})
    assert response.status_code == 400
    with world.ctx.sessions() as s:
        from b2b_soap.db import SystemDefault
        assert s.get(SystemDefault, "B2B_S_AGE").value == "18"


def _sign_out_ends_the_session(client, world):
    sign_in(client)
    response = post_form(client, "/", "/sign-out", {})
    assert response.status_code == 302
    with world.ctx.sessions() as s:
        assert s.scalar(select(WebSession.id)) is None
    assert client.get("/").status_code == 302
    assert "web.sign_out" in _audit_actions(world, "reviewer")


def _idle_session_expires(world):
    client = make_web_app(world.ctx, idle_timeout=timedelta(minutes=30)).test_client()
    sign_in(client)
    with session_scope(world.ctx.sessions) as s:
        row = s.scalar(select(WebSession))
        row.last_seen_at -= timedelta(minutes=31)
    response = client.get("/")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    assert "signed out because" in client.get(response.headers["Location"]).get_data(as_text=True)
    with world.ctx.sessions() as s:
        assert s.scalar(select(WebSession.id)) is None


def _navigation_and_403_follow_permissions(world):
    client = make_web_app(world.ctx).test_client()
    sign_in(client, "reader")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/unmatched/"' in home
    for hidden in ("/conflicts/", "/files/", "/reports/", "/tasks/", "/jobs/", "/alerts/", "/defaults/"):
        assert f'href="{hidden}"' not in home
        assert client.get(hidden).status_code == 403
    nobody = make_web_app(world.ctx).test_client()
    sign_in(nobody, "nobody")
    nobody_home = nobody.get("/").get_data(as_text=True)
    assert "no permissions" in nobody_home and 'href="/unmatched/"' not in nobody_home
    assert nobody.get("/unmatched/").status_code == 403


def _read_only_admin_cannot_change_defaults(world):
    from b2b_soap.db import session_scope as scope
    from test_web_support import add_la_user
    from b2b_soap.security import ADMINISTRATION
    with scope(world.ctx.sessions) as s:
        add_la_user(s, world.ctx, "viewer", (ADMINISTRATION,), level="Read")
    client = make_web_app(world.ctx).test_client()
    sign_in(client, "viewer")
    page = client.get("/defaults/").get_data(as_text=True)
    assert "B2B_S_AGE" in page and "Save defaults" not in page
    response = client.post("/defaults/", data={"B2B_S_AGE": "17", "csrf_token": csrf_of(page)})
    assert response.status_code == 403


def test_without_licence_only_not_licensed_is_shown(world):
    with session_scope(world.ctx.sessions) as s:
        for licence in s.scalars(select(Licence)):
            licence.active = False
    client = make_web_app(world.ctx).test_client()
    for path in ("/sign-in", "/", "/unmatched/"):
        response = client.get(path)
        assert response.status_code == 403
        text = response.get_data(as_text=True)
        assert "not licensed" in text and 'name="password"' not in text


def _next_parameter_cannot_leave_the_site(client):
    page = client.get("/sign-in?next=//evil.example/")
    response = client.post("/sign-in", data={"username": "reviewer", "password": PASSWORD,
                                             "next": "//evil.example/",
                                             "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/"


def test_session_cookie_and_redirects(client, app, world):
    _pages_need_sign_in(client)
    _next_parameter_cannot_leave_the_site(app.test_client())
    _cookie_is_secure_over_https(app)
    _sign_in_sets_secure_server_side_session(client, world)


def test_lockout_and_school_refusal(app, world):
    _wrong_password_and_lockout_are_shared_with_soap(app.test_client(), world)
    _school_user_is_refused(app.test_client(), world)


def test_csrf(client, app, world):
    _sign_in_form_needs_its_csrf_token(app.test_client())
    _post_without_csrf_token_is_refused(client, world)


def test_sign_out_and_idle_timeout(client, world):
    _sign_out_ends_the_session(client, world)
    _idle_session_expires(world)


def test_permissions(world):
    _navigation_and_403_follow_permissions(world)
    _read_only_admin_cannot_change_defaults(world)
