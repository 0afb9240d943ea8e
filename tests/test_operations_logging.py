"""Logging: JSON lines with a request id; credentials and payloads never reach the log."""
from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from b2b_soap.logging_setup import QUIET_LOGGERS, configure_logging, new_request_id, redact, request_id

PAYLOAD = base64.b64encode(b"<Pupil><Surname>Quonsetworth</Surname><UPN>A999400112001</UPN></Pupil>" * 3).decode()
TOKEN = ("<wsse:UsernameToken><wsse:Username>school.user</wsse:Username>"
         "<wsse:Password Type='#PasswordText'>S3cret-pass!</wsse:Password></wsse:UsernameToken>")


@pytest.fixture
def logged():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET_LOGGERS})
    stream = io.StringIO()
    yield stream
    handlers, level, quiet = saved
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, value in quiet.items():
        logging.getLogger(name).setLevel(value)


def test_json_lines_carry_the_request_id_and_no_secrets(logged):
    configure_logging(json=True, level="DEBUG", stream=logged)
    token = request_id.set("-")
    try:
        rid = new_request_id()
        log = logging.getLogger("b2b_soap.test")
        log.info("request body %s", TOKEN)
        log.warning("Authorization: Basic %s", base64.b64encode(b"school.user:S3cret-pass!").decode())
        log.info("upload content=%s password=%s", PAYLOAD, "S3cret-pass!")
        try:
            raise ValueError(f"bad part {PAYLOAD}")
        except ValueError:
            log.exception("failed")
    finally:
        request_id.reset(token)
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    assert len(lines) == 4 and all(line["request_id"] == rid for line in lines)
    text = logged.getvalue()
    for secret in ("S3cret-pass!", PAYLOAD, "Quonsetworth", base64.b64encode(b"school.user:S3cret-pass!").decode()):
        assert secret not in text
    assert "[redacted]" in text and "[base64 redacted]" in lines[3]["exception"]


def test_plain_lines_and_spyne_dumps_silenced(logged):
    configure_logging(json=False, level="DEBUG", stream=logged)
    logging.getLogger("spyne.protocol.soap.soap11.invalid").error("dump %s", TOKEN)
    logging.getLogger("spyne.application.client").error("dump %s", TOKEN)
    logging.getLogger("b2b_soap.test").info("file %s sha256 %s", "f.xml", "ab" * 32)
    text = logged.getvalue()
    assert "dump" not in text
    assert "ab" * 32 in text and " [-] " in text  # checksums stay readable


def test_redact_keeps_ordinary_text():
    assert redact("processed 2,000 pupils for base 8812345") == "processed 2,000 pupils for base 8812345"
