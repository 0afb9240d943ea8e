"""The WSDL advertises the configured public URL, or a Host header this server answers to; never any other."""
from __future__ import annotations

import requests

from server import running_server
from service_setup import ServiceEnv


def wsdl(url: str, host: str) -> requests.Response:
    return requests.get(url + "/B2BStudent.svc?wsdl", headers={"Host": host}, timeout=10)


def test_without_a_public_url_only_allowed_hosts_get_a_wsdl(tmp_path, database_url) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    with running_server(env.config_path) as srv:
        port = srv.url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            answer = wsdl(srv.url, host)
            assert answer.status_code == 200 and f'location="http://{host}/B2BStudent.svc"' in answer.text
        for number in range(50):
            answer = wsdl(srv.url, f"attacker{number}.example:{port}")
            assert answer.status_code == 400 and "attacker" not in answer.text
        assert requests.get(srv.url + "/B2BStudent.svc", headers={"Host": "attacker.example"},
                            timeout=10).status_code == 400
    env.close()


def test_configured_hosts_replace_the_defaults(tmp_path, database_url) -> None:
    env = ServiceEnv.create(tmp_path, database_url, server={"allowed_hosts": ["B2B.la.example"]})
    with running_server(env.config_path) as srv:
        assert wsdl(srv.url, "b2b.la.example:8443").status_code == 200
        assert wsdl(srv.url, "127.0.0.1").status_code == 400
    env.close()


def test_a_public_url_is_advertised_whatever_the_host(tmp_path, database_url) -> None:
    env = ServiceEnv.create(tmp_path, database_url, server={"public_url": "https://b2b.la.example/"})
    with running_server(env.config_path) as srv:
        answer = wsdl(srv.url, "attacker.example")
        assert answer.status_code == 200
        assert 'location="https://b2b.la.example/B2BStudent.svc"' in answer.text and "attacker" not in answer.text
    env.close()
