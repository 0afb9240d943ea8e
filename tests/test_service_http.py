"""HTTP as strict clients see it: one Content-Length on every path, chunked requests,
``Expect: 100-continue`` (what WCF sends on POST) and several calls on one keep-alive connection."""
from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from raw_http import FramingError, RawConnection, RawResponse, request_bytes
from server import running_server, wait_for
from service_setup import PASSWORD, TNS, ServiceEnv

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
STUDENT, ADMIN = "/B2BStudent.svc", "/B2BAdmin.svc"
LIMIT = 256 * 1024


def _basic(password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"sims:{password}".encode()).decode()


def _soap(operation: str, action: bool = True, authorization: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "text/xml; charset=utf-8", "Authorization": authorization or _basic()}
    if action:
        headers["SOAPAction"] = f'"{TNS}/IB2BStudentService/{operation}"'
    return headers


def _envelope(call: str, header: str = "") -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:t="{TNS}"><s:Header>{header}</s:Header>'
            f'<s:Body>{call}</s:Body></s:Envelope>').encode()


INFO = _envelope("<t:GetServerInfo/>")
MISSING_FILE = _envelope("<t:GetFileStatus><t:fileId>00000000-0000-0000-0000-000000000000</t:fileId>"
                         "</t:GetFileStatus>")
WRONG_TOKEN = _envelope("<t:GetServerInfo/>", f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
                        "<wsse:Username>sims</wsse:Username><wsse:Password>wrong</wsse:Password>"
                        "</wsse:UsernameToken></wsse:Security>")


def _fault_code(response: RawResponse) -> str | None:
    return etree.fromstring(response.body).findtext(f".//{{{TNS}}}B2BFault/{{{TNS}}}Code")


def _la_number(response: RawResponse) -> str | None:
    assert response.status == 200, (response.status, response.body[:400])
    return etree.fromstring(response.body).findtext(f".//{{{TNS}}}LaNumber")


def _assert_framed(response: RawResponse, what: str) -> None:
    """Exactly one Content-Length, no Transfer-Encoding, and the body it announces."""
    assert response.values("Content-Length") == [str(len(response.body))], (what, response.headers)
    assert not response.values("Transfer-Encoding"), (what, response.headers)


@pytest.fixture
def server(tmp_path: Path, database_url: str):
    env = ServiceEnv.create(tmp_path, database_url, server={"max_request_bytes": LIMIT},
                            storage={"max_part_bytes": 100 * 1024})
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        yield srv
    env.close()


def _connect(srv) -> RawConnection:
    address = urlsplit(srv.url)
    return RawConnection(address.hostname, address.port)


def test_every_path_answers_with_one_content_length(server) -> None:
    too_large = b"<x>" + b"a" * (LIMIT + 10) + b"</x>"
    cases = [
        ("SOAP response", "POST", STUDENT, _soap("GetServerInfo"), INFO, 200),
        ("SOAP fault", "POST", STUDENT, _soap("GetFileStatus"), MISSING_FILE, 500),
        ("UsernameToken refused", "POST", STUDENT, _soap("GetServerInfo", authorization="Bearer x"), WRONG_TOKEN, 500),
        ("no credentials", "POST", STUDENT, {"Content-Type": "text/xml"}, INFO, 401),
        ("wrong Basic password", "POST", STUDENT, _soap("GetServerInfo", authorization=_basic("wrong")), INFO, 401),
        ("SOAP 1.2", "POST", STUDENT, {"Content-Type": "application/soap+xml"}, INFO, 415),
        ("too large", "POST", STUDENT, _soap("GetServerInfo"), too_large, 413),
        ("malformed XML", "POST", STUDENT, _soap("GetServerInfo"), b"<not xml", 500),
        ("WSDL", "GET", STUDENT + "?wsdl", {}, b"", 200),
        ("admin WSDL", "GET", ADMIN + "?singleWsdl", {}, b"", 200),
        ("service page", "GET", STUDENT, {}, b"", 200),
        ("wrong method", "PUT", STUDENT, {}, b"x", 405),
        ("no such path", "GET", "/nothing-here", {}, b"", 404),
        ("health", "GET", "/health", {}, b"", 200),
        ("health HEAD", "HEAD", "/health", {}, b"", 200),
        ("sign-in page", "GET", "/la/sign-in", {}, b"", 200),
        ("stylesheet", "GET", "/la/static/b2b.css", {}, b"", 200),
        ("page needing a session", "GET", "/la/unmatched", {}, b"", 302),
        ("metrics", "GET", "/metrics", {}, b"", 200),
    ]
    for what, method, target, headers, body, status in cases:
        with _connect(server) as connection:
            response = connection.request(method, target, {**headers, "Connection": "close"}, body)
        assert response.status == status, (what, response.status, response.body[:300])
        if method == "HEAD":
            assert len(response.values("Content-Length")) == 1 and not response.values("Transfer-Encoding")
        else:
            _assert_framed(response, what)


def test_the_strict_parser_refuses_ambiguous_framing() -> None:
    import socket
    import threading

    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok"]
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        for raw in answers:
            peer, _ = listener.accept()
            with peer:
                peer.recv(65536)
                peer.sendall(raw)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    for _ in answers:
        with RawConnection("127.0.0.1", listener.getsockname()[1], timeout=10) as connection:
            with pytest.raises(FramingError):
                connection.request("GET", "/")
    thread.join(10)
    listener.close()


def test_chunked_request_body(server) -> None:
    with _connect(server) as connection:
        response = connection.request("POST", STUDENT, _soap("GetServerInfo"), INFO, chunked=True)
        _assert_framed(response, "chunked GetServerInfo")
        assert _la_number(response) == "999"
        fault = connection.request("POST", STUDENT, _soap("GetFileStatus"), MISSING_FILE, chunked=True)
        _assert_framed(fault, "chunked fault")
        assert (fault.status, _fault_code(fault)) == (500, "NotFound")
    with _connect(server) as connection:
        too_large = _envelope("<t:GetServerInfo/>" + "<!--" + "a" * LIMIT + "-->")
        refused = connection.request("POST", STUDENT, {**_soap("GetServerInfo"), "Connection": "close"},
                                     too_large, chunked=True)
        assert refused.status == 413
        _assert_framed(refused, "chunked too large")
    with _connect(server) as connection:
        connection.sock.sendall(b"POST " + STUDENT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n<s/>\r\n0\r\n\r\n")
        malformed = connection.response("POST")
        assert malformed.status == 400, malformed.body
        _assert_framed(malformed, "malformed chunk")
    with _connect(server) as connection:  # refused before the body is read: the next call still works
        refused = connection.request("POST", STUDENT, {"Content-Type": "application/json"}, INFO, chunked=True)
        assert refused.status == 415
        after = connection.request("POST", STUDENT, _soap("GetServerInfo"), INFO, chunked=True)
        assert _la_number(after) == "999"


def test_a_refused_body_is_read_to_its_end_and_the_connection_stays_usable(server) -> None:
    """Whatever refuses a request, the rest of its body is read and dropped: what follows on the
    connection is the next request, not the leftover of a body."""
    body = _envelope("<t:GetServerInfo/>" + "<!--" + "a" * (LIMIT // 2) + "-->")
    xml = {"Content-Type": "text/xml; charset=utf-8"}
    with _connect(server) as connection:
        answers = [connection.request("POST", STUDENT, xml, body, chunked=True),
                   connection.request("POST", "/Nowhere.svc", xml, body, chunked=True),
                   connection.request("POST", "/Nowhere.svc", xml, body),
                   connection.request("PUT", STUDENT, _soap("GetServerInfo"), body, chunked=True),
                   connection.request("POST", STUDENT, _soap("GetServerInfo"), INFO, chunked=True)]
    assert [a.status for a in answers] == [401, 404, 404, 405, 200]
    assert _la_number(answers[-1]) == "999"


def test_the_access_log_line_names_client_method_path_status_bytes_and_user(server) -> None:
    with _connect(server) as connection:
        wsdl = connection.request("GET", STUDENT + "?wsdl")
        asked = time.perf_counter()
        info = connection.request("POST", STUDENT, _soap("GetServerInfo"), INFO)
        waited_ms = (time.perf_counter() - asked) * 1000
        refused = connection.request("POST", STUDENT, {"Content-Type": "text/xml; charset=utf-8"}, INFO)
    expected = [rf"127\.0\.0\.1 GET {STUDENT} 200 {len(wsdl.body)} \d+ms user=-$",
                rf"127\.0\.0\.1 POST {STUDENT} 200 {len(info.body)} (\d+)ms user=sims$",
                rf"127\.0\.0\.1 POST {STUDENT} 401 {len(refused.body)} \d+ms user=-$"]

    def logged() -> str | None:
        text = server.log()
        return text if all(re.search(line, text, re.M) for line in expected) else None

    log = wait_for(logged, 30, "the three access log lines")
    assert "?wsdl" not in log and PASSWORD not in log
    took_ms = int(re.search(expected[1], log, re.M).group(1))
    assert took_ms <= waited_ms + 1  # the server's own time: within what the client waited


def test_expect_100_continue_as_wcf_sends_it(server) -> None:
    with _connect(server) as connection:
        response = connection.expect_continue(STUDENT, _soap("GetServerInfo"), INFO)
        assert response.interim == [100]
        _assert_framed(response, "GetServerInfo after 100 Continue")
        assert _la_number(response) == "999"
        again = connection.expect_continue(STUDENT, _soap("GetFileStatus"), MISSING_FILE)
        assert (again.status, _fault_code(again)) == (500, "NotFound")


def test_keep_alive_across_several_calls(server) -> None:
    with _connect(server) as connection:
        answers = [connection.request("POST", STUDENT, _soap("GetServerInfo"), INFO),
                   connection.request("POST", STUDENT, _soap("GetFileStatus"), MISSING_FILE),
                   connection.request("GET", STUDENT + "?wsdl"),
                   connection.request("POST", STUDENT, {"Content-Type": "text/xml"}, INFO),
                   connection.request("GET", "/la/static/b2b.css"),
                   connection.request("POST", STUDENT, _soap("GetServerInfo", action=False), INFO)]
    assert [a.status for a in answers] == [200, 500, 200, 401, 200, 200]
    for number, answer in enumerate(answers):
        _assert_framed(answer, f"call {number + 1} on one connection")
        assert answer.version == "HTTP/1.1" and (answer.header("Connection") or "").lower() != "close"
    assert _la_number(answers[0]) == _la_number(answers[-1]) == "999"
    assert _fault_code(answers[1]) == "NotFound"


def test_a_large_body_read_past_the_socket_buffer_leaves_the_next_pipelined_request_intact(server) -> None:
    large = _envelope("<t:GetServerInfo/>" + " " * 200_000)
    with _connect(server) as connection:
        sent = [request_bytes("POST", STUDENT, _soap("GetServerInfo"), body, host=connection.host)
                for body in (large, INFO, large)]
        connection.sock.sendall(b"".join(head + body for head, body in sent))
        answers = [connection.response("POST") for _ in sent]
    assert [_la_number(answer) for answer in answers] == ["999", "999", "999"]
