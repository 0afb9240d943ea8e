"""X-Forwarded-* count only from the reverse proxies in ``[web] trusted_proxies``."""
from __future__ import annotations

import pytest
import requests

from b2b_soap.config import ConfigError, settings_from_dict
from server import running_server
from service_setup import ServiceEnv

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "b2b.la.example", "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("proxies, believed", [([], False), (["127.0.0.1"], True), (["10.0.0.0/8"], False),
                                               (["::1", "127.0.0.0/8"], True)])
def test_forwarded_https_marks_the_cookie_secure_only_from_a_trusted_proxy(tmp_path, database_url, proxies,
                                                                           believed) -> None:
    env = ServiceEnv.create(tmp_path, database_url, web={"trusted_proxies": proxies},
                            server={"allowed_hosts": ["127.0.0.1", "b2b.la.example"]})
    with running_server(env.config_path) as srv:
        page = requests.get(srv.url + "/la/sign-in", headers=FORWARDED, timeout=10)
        wsdl = requests.get(srv.url + "/B2BStudent.svc?wsdl", headers=FORWARDED, timeout=10).text
        plain = requests.get(srv.url + "/la/sign-in", timeout=10)
    env.close()
    assert page.status_code == 200
    assert ("Secure" in page.headers["Set-Cookie"]) is believed
    assert ('location="https://b2b.la.example/B2BStudent.svc"' in wsdl) is believed
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_a_trusted_proxy_must_be_an_address_or_network() -> None:
    with pytest.raises(ConfigError, match="web.trusted_proxies: 'proxy.example' is not an IP address"):
        settings_from_dict({"web": {"trusted_proxies": ["10.1.2.3", "proxy.example"]}}, environ={})
