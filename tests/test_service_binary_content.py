"""Binary parameters (UploadFile's content): decoded once by the protocol, with xs:base64Binary's rules."""
from __future__ import annotations

import base64
import gzip
import hashlib
import uuid
from pathlib import Path

import pytest
from lxml import etree
from spyne import Fault
from sqlalchemy import select

from b2b_soap.db import VirtualFile, session_scope
from b2b_soap.files import read_content
from b2b_soap.service.wcf import decode_base64
from server import http_post, running_server
from service_setup import PASSWORD, ServiceEnv, student_file

TNS = "http://schemas.b2b-soap.org/student/2026/01"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"sims:{PASSWORD}".encode()).decode()}


@pytest.mark.parametrize("text, plain", [
    ("QUJD", b"ABC"), ("", b""), ("QU JD", b"ABC"), ("QUJD\r\nREVG", b"ABCDEF"), ("\tQUI=\n", b"AB"),
])
def test_base64_with_whitespace_anywhere_decodes(text: str, plain: bytes) -> None:
    assert decode_base64(text, "content") == plain


@pytest.mark.parametrize("text", ["QUJ", "QUJD*", "QQ==QQ==", "QUJDé===", "!!!not*base64@@@"])
def test_text_outside_base64_is_a_typed_validation_fault(text: str) -> None:
    with pytest.raises(Fault) as caught:
        decode_base64(text, "content")
    detail = caught.value.detail
    assert detail.findtext(f"{{{TNS}}}Code") == "ValidationFailed"
    assert "content is not valid base64" in detail.findtext(f"{{{TNS}}}Message")


def upload(data: bytes, content: str, total_bytes: str | None = None) -> bytes:
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{TNS}"><s:Body>'
            f"<t:UploadFile><t:header><t:FileGuid>{uuid.uuid4()}</t:FileGuid><t:DataType>Student</t:DataType>"
            f"<t:FileName>pupils.xml</t:FileName><t:TotalBytes>{total_bytes or len(data)}</t:TotalBytes>"
            f"<t:Sha256>{hashlib.sha256(data).hexdigest()}</t:Sha256><t:Compression>Gzip</t:Compression>"
            f"</t:header><t:content>{content}</t:content></t:UploadFile></s:Body></s:Envelope>").encode()


def fault(response) -> tuple[str, str]:
    status, _, body = response
    assert status == 500, (status, body[:300])
    detail = etree.fromstring(body).find(f".//{{{TNS}}}B2BFault")
    return detail.findtext(f"{{{TNS}}}Code"), detail.findtext(f"{{{TNS}}}Message")


def test_uploaded_content_in_mime_lines_is_stored_and_bad_content_refused(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    data = student_file(pupils=40, seed=2)
    folded = base64.encodebytes(gzip.compress(data)).decode().replace("\n", "\r\n")  # 76-character lines
    with running_server(env.config_path) as srv:
        status, _, body = http_post(srv, upload(data, folded), headers=BASIC)
        assert status == 200 and b"Received" in body, body[:300]
        file_id = etree.fromstring(body).findtext(f".//{{{TNS}}}FileId")

        damaged = folded[:200] + "*" + folded[200:]
        assert fault(http_post(srv, upload(data, damaged), headers=BASIC)) == (
            "ValidationFailed", "the request does not match the contract: content is not valid base64 "
                                "(xs:base64Binary)")
        code, message = fault(http_post(srv, upload(data, folded, total_bytes="many"), headers=BASIC))
        assert code == "ValidationFailed" and "TotalBytes" in message  # the schema still checks the rest
    with session_scope(env.ctx.sessions) as session:
        stored = session.scalars(select(VirtualFile)).all()
        assert [vf.id for vf in stored] == [file_id]
        assert read_content(env.ctx.keyring, stored[0]) == data
    env.close()
