"""Web sessions end with access: lock, unlock, password change and permission removal sign the user out."""
from __future__ import annotations

import io
import re

import pytest
import requests

from b2b_soap.cli import main
from b2b_soap.security import REPORTS
from server import running_server
from service_setup import PASSWORD, ServiceEnv

NEW_PASSWORD = "another long password"


def post_sign_in(browser: requests.Session, url: str, username: str, password: str) -> requests.Response:
    form = browser.get(url + "/la/sign-in", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return browser.post(url + "/la/sign-in", data={"username": username, "password": password,
                                                   "csrf_token": csrf}, timeout=30, allow_redirects=False)


def sign_in(url: str, username: str) -> requests.Session:
    browser = requests.Session()
    answer = post_sign_in(browser, url, username, PASSWORD)
    assert answer.status_code in (302, 303), answer.text[:300]
    return browser


def signed_in(browser: requests.Session, url: str) -> bool:
    answer = browser.get(url + "/la/reports/", timeout=10, allow_redirects=False)
    assert answer.status_code in (200, 302, 303), answer.status_code
    return answer.status_code == 200


@pytest.mark.parametrize("change", [
    ["user", "lock", "reader"],
    ["user", "unlock", "reader"],
    ["user", "passwd", "reader", "--password-stdin"],
    ["group", "grant", "LA reader", REPORTS, "None"],
    ["group", "member", "remove", "LA reader", "reader"],
])
def test_a_change_of_access_ends_the_users_web_sessions(tmp_path, database_url, monkeypatch, change) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_la_user("reader", {REPORTS: "Read"})
    env.add_la_user("other", {REPORTS: "Read"})
    with running_server(env.config_path) as srv:
        reader, other = sign_in(srv.url, "reader"), sign_in(srv.url, "other")
        assert signed_in(reader, srv.url) and signed_in(other, srv.url)
        monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
        assert main(["--config", str(env.config_path), *change]) == 0
        assert not signed_in(reader, srv.url)
        assert signed_in(other, srv.url)
    env.close()


def test_a_lockout_by_failed_sign_ins_ends_an_open_session(tmp_path, database_url) -> None:
    env = ServiceEnv.create(tmp_path, database_url, security={"lockout_threshold": 3})
    env.add_la_user("reader", {REPORTS: "Read"})
    with running_server(env.config_path) as srv:
        reader = sign_in(srv.url, "reader")
        guesser = requests.Session()
        for _ in range(3):
            post_sign_in(guesser, srv.url, "reader", "a wrong guess!")
        assert not signed_in(reader, srv.url)
    env.close()
