"""Client errors in how a request is encoded or framed get a fault or 413 that says what was wrong."""
from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from server import http_post, running_server
from service_setup import ServiceEnv
from test_service_hostile import BASIC, INFO, assert_fault, envelope

CAFE = "<t:GetFileStatus><t:fileId>café</t:fileId></t:GetFileStatus>"


@pytest.fixture
def server(tmp_path: Path, database_url: str):
    env = ServiceEnv.create(tmp_path, database_url, server={"max_request_bytes": 256 * 1024},
                            storage={"max_part_bytes": 100 * 1024})
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        yield srv
    env.close()


def post(srv, body: bytes, content_type: str = "text/xml; charset=utf-8"):
    return http_post(srv, body, headers={**BASIC, "Content-Type": content_type})


def test_charsets_other_than_utf8_are_validation_faults(server) -> None:
    utf16 = '<?xml version="1.0" encoding="utf-16"?>'.encode("utf-16") + envelope(INFO).decode().encode("utf-16")[2:]
    message = assert_fault(post(server, utf16, "text/xml; charset=utf-16"))
    assert "UTF-8" in message
    assert "UTF-8" in assert_fault(post(server, envelope(INFO).decode().encode("utf-16")))
    latin = envelope(CAFE).decode().encode("iso-8859-1")
    assert "UTF-8" in assert_fault(post(server, latin, "text/xml; charset=iso-8859-1"))
    assert "UTF-8" in assert_fault(post(server, latin))
    declared = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + latin
    assert assert_fault(post(server, declared)) == ("the request declares encoding ISO-8859-1: send SOAP requests "
                                                    "in UTF-8 (Content-Type: text/xml; charset=utf-8)")
    assert "x-bogus" in assert_fault(post(server, envelope(INFO), "text/xml; charset=x-bogus"))
    long_name = "utf" + "-" * 60 + "16"  # Python's codecs read it as utf-16: a known charset, echoed cut short
    message = assert_fault(post(server, envelope(INFO), f"text/xml; charset={long_name}"))
    assert message.startswith(f"charset {long_name[:40]} is not supported: "), message
    assert post(server, envelope(INFO), "text/xml; charset=UTF-8")[0] == 200
    assert post(server, envelope(INFO), 'text/xml; charset="utf-8"')[0] == 200
    assert post(server, envelope(INFO), "text/xml")[0] == 200
    assert "InternalError" not in server.log()


def test_a_chunked_body_over_the_limit_is_413(server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    body = envelope("<t:GetFileStatus><t:fileId>" + "a" * 300_000 + "</t:fileId></t:GetFileStatus>")
    chunks = (body[i:i + 16384] for i in range(0, len(body), 16384))
    connection.request("POST", "/B2BStudent.svc", body=chunks, encode_chunked=True,
                       headers={**BASIC, "Content-Type": "text/xml; charset=utf-8", "Transfer-Encoding": "chunked"})
    answer = connection.getresponse()
    assert answer.status == 413, (answer.status, answer.read()[:300])
    connection.close()
    small = envelope(INFO)
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    connection.request("POST", "/B2BStudent.svc", body=iter([small[:100], small[100:]]), encode_chunked=True,
                       headers={**BASIC, "Content-Type": "text/xml; charset=utf-8", "Transfer-Encoding": "chunked"})
    assert connection.getresponse().status == 200
    connection.close()
