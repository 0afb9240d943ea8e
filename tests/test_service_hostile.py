"""Hostile and malformed requests get a clean SOAP fault or HTTP 4xx, and the server keeps serving."""
from __future__ import annotations

import base64
from pathlib import Path

from lxml import etree

from server import http_post, running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv

TNS = "http://schemas.b2b-soap.org/student/2026/01"
ACTION = f"{TNS}/IB2BStudentService/"
SECRET = "Unguessable-Secret-Token-123"


def envelope(body: str, header: str = "", prolog: str = "") -> bytes:
    return (f'{prolog}<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{TNS}">'
            f'<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>').encode()


def token(password: str = PASSWORD, must_understand: str = "") -> str:
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    return (f'<wsse:Security xmlns:wsse="{wsse}" {must_understand}><wsse:UsernameToken><wsse:Username>sims'
            f'</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security>')


INFO = "<t:GetServerInfo/>"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"sims:{PASSWORD}".encode()).decode()}
DTD_ATTACKS = {
    "xxe": '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    "billion-laughs": '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
                      + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
                      + "]>",
    "quadratic": '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY q "' + "x" * 50_000 + '">]>',
    "plain-dtd": '<?xml version="1.0"?><!DOCTYPE s:Envelope>',
}


def assert_fault(response, code: str | None = "ValidationFailed", soap_code: str | None = None) -> str:
    status, headers, body = response
    assert status == 500 and headers["Content-Type"].startswith("text/xml"), (status, body[:300])
    root = etree.fromstring(body)
    fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None, body[:300]
    if soap_code:
        assert fault.findtext("faultcode").endswith(soap_code)
    if code:
        assert fault.findtext(f"detail/{{{TNS}}}B2BFault/{{{TNS}}}Code") == code
    return fault.findtext("faultstring")


def test_hostile_requests(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, server={"max_request_bytes": 256 * 1024},
                            storage={"max_part_bytes": 100 * 1024})
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        client = zeep_client(srv, "sims", PASSWORD)

        def still_serving() -> None:
            assert client.service.GetServerInfo().LaNumber == "999"

        post = lambda body, **h: http_post(srv, body, headers={**BASIC, **h})  # noqa: E731
        for name, prolog in DTD_ATTACKS.items():
            body = envelope(f"<t:GetFileStatus><t:fileId>{'&e;' if name == 'xxe' else ''}"
                            f"{'&i;' if name == 'billion-laughs' else ''}{'&q;&q;&q;' if name == 'quadratic' else ''}"
                            "</t:fileId></t:GetFileStatus>", prolog=prolog)
            message = assert_fault(post(body))
            assert "root:" not in message and "DTD" in message or "entity" in message.lower(), (name, message)
            still_serving()
        deep = envelope("<t:GetFileStatus>" + "<t:x>" * 5000 + "</t:x>" * 5000 + "</t:GetFileStatus>")
        assert_fault(post(deep))
        still_serving()
        assert_fault(post(b"this is not XML at all"))
        assert_fault(post(b"\x00\xff\xfe garbage"))
        assert_fault(post(b"<notsoap/>"), soap_code="VersionMismatch")
        soap12 = envelope(INFO).replace(b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope")
        assert post(soap12)[0] == 415
        assert http_post(srv, envelope(INFO), headers={**BASIC, "Content-Type": "application/soap+xml"})[0] == 415
        assert http_post(srv, envelope(INFO), headers={**BASIC, "Content-Type": "application/json"})[0] == 415
        odd_type = {**BASIC, "Content-Type": "application/" + "x" * 100}
        status, _, text = http_post(srv, envelope(INFO), headers=odd_type)
        assert (status, text.decode()) == (415, f"content type application/{'x' * 48} is not supported: "
                                                "send SOAP 1.1 as text/xml\n")  # cut to 60 characters
        still_serving()
        # an entity in a UsernameToken is never expanded: neither one the request declares nor a local file
        user_file = tmp_path / "user.txt"
        user_file.write_text("sims")
        for entity in ('"sims"', f'SYSTEM "file://{user_file}"'):
            named = envelope(INFO, token().replace(">sims<", ">&u;<"),
                             prolog=f"<!DOCTYPE s:Envelope [<!ENTITY u {entity}>]>")
            assert_fault(http_post(srv, named), code="AuthenticationFailed")
        assert "does not match" in assert_fault(post(envelope(INFO), SOAPAction=f'"{ACTION}UploadFile"'))
        assert post(envelope(INFO), SOAPAction=f'"{ACTION}GetServerInfo"')[0] == 200
        assert "unknown operation" in assert_fault(post(envelope("<t:DropAllTables/>")))
        assert "unknown operation" in assert_fault(post(envelope("<x:GetServerInfo xmlns:x='urn:other'/>")))
        garbled = envelope("<t:UploadFile><t:header><t:FileGuid>8c5a2f0e-8f0b-4c55-9d59-4a5f8a2f6b11</t:FileGuid>"
                           "<t:DataType>Student</t:DataType><t:FileName>a.xml</t:FileName><t:TotalBytes>10"
                           "</t:TotalBytes><t:Sha256>" + "a" * 64 + "</t:Sha256></t:header>"
                           "<t:content>!!!not*base64@@@</t:content></t:UploadFile>")
        assert "base64" in assert_fault(post(garbled), soap_code="Client")
        still_serving()
        # a body over server.max_request_bytes: 413 before it is parsed
        assert post(envelope("<t:GetFileStatus><t:fileId>" + "a" * 300_000 + "</t:fileId></t:GetFileStatus>"))[0] == 413
        still_serving()

        # mustUnderstand: Security is understood in every spelling; another mandatory header is not
        for attribute in ('s:mustUnderstand="1"', 'mustUnderstand="true"', 's:mustUnderstand="true"'):
            assert http_post(srv, envelope(INFO, token(must_understand=attribute)))[0] == 200
        unknown = '<x:Tx xmlns:x="urn:tx" s:mustUnderstand="1">1</x:Tx>'
        assert_fault(post(envelope(INFO, unknown)), code=None, soap_code="MustUnderstand")
        assert post(envelope(INFO, '<x:Tx xmlns:x="urn:tx" s:mustUnderstand="0">1</x:Tx>'))[0] == 200

        # credentials: none -> 401 challenge; wrong Basic -> 401; wrong token -> fault
        status, headers, _ = http_post(srv, envelope(INFO))
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        wrong = {"Authorization": "Basic " + base64.b64encode(f"sims:{SECRET}".encode()).decode()}
        assert http_post(srv, envelope(INFO), headers=wrong)[0] == 401
        assert http_post(srv, envelope(INFO), headers={"Authorization": "Basic %%%"})[0] == 401
        assert_fault(http_post(srv, envelope(INFO, token(SECRET))), code="AuthenticationFailed")
        still_serving()
        assert http_post(srv, b"", path="/nothing")[0] == 404
        assert srv.health()["database"] is True

        log = srv.log()
    assert SECRET not in log and PASSWORD not in log and "Traceback" not in log
    assert "/etc/passwd" not in log and "root:x" not in log
    env.close()
