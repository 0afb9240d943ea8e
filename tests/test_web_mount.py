"""The real server serves the LA review pages at /la/ beside the SOAP endpoints."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from b2b_soap.licensing import FEATURES
from server import running_server
from service_setup import ServiceEnv


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def env(tmp_path, database_url):
    environment = ServiceEnv.create(tmp_path, database_url)
    yield environment
    environment.close()


def test_review_pages_are_served_beside_the_soap_service(env):
    with running_server(env.config_path) as srv:
        with urllib.request.urlopen(srv.url + "/la/sign-in", timeout=10) as response:
            assert response.status == 200
            assert "HttpOnly" in response.headers["Set-Cookie"]
            assert "Sign in" in response.read().decode()
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as answer:  # a page without a session: to sign-in
            opener.open(srv.url + "/la/unmatched", timeout=10)
        assert answer.value.code in (302, 303)
        assert "/la/sign-in" in answer.value.headers["Location"]
        health = srv.health()
        assert health["status"] == "ok" and sorted(health["licence"]["features"]) == sorted(FEATURES)
