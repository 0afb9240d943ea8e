"""XSD validation of transfer files, hostile XML, and header checks."""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from b2b_soap.transfer import FileError, check_header, validate_transfer
from b2b_soap.transfer.validate import MAX_ERRORS
from b2b_soap.transfer.writer import (
    example_header,
    make_example_attainment,
    make_example_pupils,
    write_attainment_file,
    write_student_file,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "b2b_soap" / "schemas" / "examples"
NS = "http://schemas.b2b-soap.org/transfer/student/2026/01"
PASSWD_MARKERS = ("root:", "/bin/", "nologin")


def _example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _student(n: int = 3, **header: object) -> bytes:
    return write_student_file(example_header(**header), make_example_pupils(n, seed=3))


@pytest.mark.parametrize("name, kind", [
    ("student-valid.xml", "Student"),
    ("attainment-valid.xml", "Attainment"),
])
def test_valid_examples_are_accepted_with_their_header(name: str, kind: str) -> None:
    result = validate_transfer(_example(name), kind)
    assert result.ok and result.errors == []
    assert result.header.kind == kind
    assert result.header.source_laestab == "9994001"  # the demo's primary school
    assert result.header.destination_la == "999"
    assert result.header.created_utc.isoformat() == "2026-01-15T18:30:00+00:00"


def test_attainment_header_has_task_and_hierarchy() -> None:
    header = validate_transfer(_example("attainment-valid.xml"), "Attainment").header
    assert header.task_id == 7
    assert header.aspect_hierarchy == "B2B Primary 2026"  # one of aspects-b2b-2026.json


@pytest.mark.parametrize("name, line, text", [
    ("student-invalid-missing-surname.xml", 17, "Expected is ( Surname )"),
    ("student-invalid-bad-date.xml", 123, "DOB is not a valid DateType"),
    ("student-invalid-xxe.xml", 1, "DOCTYPE"),
    ("student-invalid-not-xml.xml", 1, "Start tag expected"),
    ("student-invalid-wrong-root.xml", 2, "No matching global declaration"),
    ("student-invalid-truncated.xml", 93, "Premature end of data"),
])
def test_invalid_examples_are_rejected_with_line(name: str, line: int, text: str) -> None:
    result = validate_transfer(_example(name), "Student")
    assert not result.ok and result.header is None
    assert result.errors[0].line == line
    assert text in result.errors[0].message
    assert NS not in result.errors[0].message  # namespaces are stripped for readability


def test_schema_errors_name_element_and_rule_but_never_the_value() -> None:
    data = _student(3)
    upn, dob = (re.search(rb"<%s>([^<]+)<" % tag, data).group(1) for tag in (b"UPN", b"DOB"))
    data = data.replace(b"<UPN>" + upn, b"<UPN>ZZ9Q", 1).replace(b"<DOB>" + dob, b"<DOB>2015-13-45", 1)
    result = validate_transfer(data, "Student")
    messages = [error.message for error in result.errors]
    assert messages == ["UPN does not match the UPN pattern", "DOB is not a valid DateType"]
    assert all(error.line > 0 for error in result.errors)
    assert not any("ZZ9Q" in m or "2015-13-45" in m for m in messages)


def test_a_file_of_the_other_kind_is_rejected() -> None:
    result = validate_transfer(_example("attainment-valid.xml"), "Student")
    assert not result.ok
    assert "B2BAttainmentTransfer" in result.errors[0].message


def test_all_schema_errors_are_listed_with_their_lines() -> None:
    data = _student(3).replace(b"<NCYearActual>", b"<NCYearActual>Q", 3)
    result = validate_transfer(data, "Student")
    assert len(result.errors) == 3
    assert len({error.line for error in result.errors}) == 3
    assert all("NCYearActual" in error.message for error in result.errors)


def test_the_number_of_errors_is_capped() -> None:
    data = _student(150).replace(b"<NCYearActual>", b"<NCYearActual>Q")
    result = validate_transfer(data, "Student")
    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1] == FileError(0, 0, "50 more errors not listed")


def test_duplicate_pupil_guid_is_rejected() -> None:
    pupils = make_example_pupils(2, seed=3)
    pupils[1] = dataclasses.replace(pupils[1], sims_guid=pupils[0].sims_guid)
    result = validate_transfer(write_student_file(example_header(), pupils), "Student")
    assert not result.ok and "Duplicate key-sequence" in result.errors[0].message


def test_comments_and_whitespace_do_not_disturb_the_header() -> None:
    data = _student(1).replace(b"<Header>", b"<!-- made by hand --><Header><!-- c -->")
    data = data.replace(b"<DestinationLA>999<", b"<DestinationLA>999<")
    data = data.replace(b"<CreatedUtc>2026-01-15T18:30:00Z<", b"<CreatedUtc> 2026-01-15T19:30:00+01:00 <")
    result = validate_transfer(data, "Student")
    assert result.ok, result.errors
    assert result.header.created_utc.isoformat() == "2026-01-15T19:30:00+01:00"


# --- hostile XML: every one is a rejected result, never an exception or a leak ---

def _doc(doctype: str, body: str) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype}\n<B2BStudentTransfer xmlns="{NS}">'
            f'{body}</B2BStudentTransfer>').encode()


BILLION_LAUGHS = "<!DOCTYPE B2BStudentTransfer [\n" + '<!ENTITY lol0 "lol">\n' + "".join(
    f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10)) + "]>"
QUADRATIC = f'<!DOCTYPE B2BStudentTransfer [<!ENTITY a "{"x" * 50_000}">]>'
HOSTILE = {
    "xxe": _doc('<!DOCTYPE B2BStudentTransfer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                "<Header><Software>&xxe;</Software></Header>"),
    "xxe-parameter": _doc('<!DOCTYPE B2BStudentTransfer [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>', ""),
    "external-dtd": _doc('<!DOCTYPE B2BStudentTransfer SYSTEM "http://127.0.0.1:9/evil.dtd">', ""),
    "plain-doctype": _doc("<!DOCTYPE B2BStudentTransfer>", ""),
    "billion-laughs": _doc(BILLION_LAUGHS, "<Header><Software>&lol9;</Software></Header>"),
    "quadratic": _doc(QUADRATIC, "<Header><Software>" + "&a;" * 20_000 + "</Software></Header>"),
    "undeclared-entity": _doc("", "<Header><Software>&xxe;</Software></Header>"),
    "deep-nesting": _doc("", "<Header>" * 10_000 + "</Header>" * 10_000),
    "empty": b"",
    "utf16-with-doctype": ('<?xml version="1.0" encoding="UTF-16"?>\n'
                           '<!DOCTYPE B2BStudentTransfer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                           f'<B2BStudentTransfer xmlns="{NS}"><Header>&xxe;</Header></B2BStudentTransfer>'
                           ).encode("utf-16"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("kind", ["Student", "Attainment"])
def test_hostile_xml_is_rejected_without_leaking(name: str, kind: str) -> None:
    result = validate_transfer(HOSTILE[name], kind)
    assert not result.ok and result.errors and result.header is None
    text = " ".join(error.message for error in result.errors)
    assert not any(marker in text for marker in PASSWD_MARKERS)
    assert len(text) < 2_000


@pytest.mark.parametrize("name", ["xxe", "xxe-parameter", "external-dtd", "plain-doctype",
                                  "billion-laughs", "quadratic", "utf16-with-doctype"])
def test_any_dtd_is_refused_as_such(name: str) -> None:
    result = validate_transfer(HOSTILE[name], "Student")
    assert any("DOCTYPE" in error.message or "entit" in error.message.lower()
               for error in result.errors)


def test_a_dtd_on_an_otherwise_valid_file_is_refused() -> None:
    data = _student(1).replace(b"?>\n", b"?>\n<!DOCTYPE B2BStudentTransfer>\n", 1)
    result = validate_transfer(data, "Student")
    assert not result.ok and "DOCTYPE" in result.errors[0].message


def test_concurrent_validations_keep_their_own_errors() -> None:
    good = _student(20)
    bad = good.replace(b"<NCYearActual>", b"<NCYearActual>Q", 1)
    files = [good, bad] * 8
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda data: validate_transfer(data, "Student"), files))
    assert [r.ok for r in results] == [True, False] * 8
    assert all(len(r.errors) == 1 for r in results[1::2])


def test_attainment_writer_output_is_valid() -> None:
    pupils = make_example_attainment(make_example_pupils(5, seed=1))
    data = write_attainment_file(example_header("Attainment", task_id=3), pupils)
    assert validate_transfer(data, "Attainment").ok


# --- header checks ---

def _header():
    return validate_transfer(_student(1, task_id=5, file_guid="0f8fad5b-d9cb-469f-a165-70867728950e"),
                             "Student").header


def test_check_header_accepts_the_senders_own_file() -> None:
    assert check_header(_header(), "9994000", "999", task_id=5,
                        file_guid="0F8FAD5B-D9CB-469F-A165-70867728950E") == []


def test_check_header_reports_each_disagreement_at_the_header_line() -> None:
    errors = check_header(_header(), "9994001", "888", task_id=6,
                          file_guid="00000000-0000-4000-8000-000000000000")
    assert len(errors) == 4
    assert {error.line for error in errors} == {3}
    assert "SourceLAESTAB 9994000" in errors[0].message
    assert "DestinationLA 999" in errors[1].message
