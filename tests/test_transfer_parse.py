"""Streaming parse of transfer files: round trips, flattening, hostile input, memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
import tracemalloc
from pathlib import Path

import pytest

from b2b_soap.transfer import (
    Bs7666Address,
    IncomingPupil,
    TransferXmlError,
    parse_attainment,
    parse_header,
    parse_pupils,
    validate_transfer,
)
from b2b_soap.transfer.writer import (
    example_header,
    make_example_attainment,
    make_example_pupils,
    write_attainment_file,
    write_student_file,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "b2b_soap" / "schemas" / "examples"


def _without_lines(pupils: list) -> list:
    return [dataclasses.replace(p, line=0) for p in pupils]


def test_writer_output_parses_back_to_the_same_pupils() -> None:
    pupils = make_example_pupils(200, seed=11)
    data = write_student_file(example_header(), pupils)
    assert validate_transfer(data, "Student").ok
    assert _without_lines(list(parse_pupils(data))) == pupils


def test_example_pupils_are_plausible() -> None:
    pupils = make_example_pupils(500, seed=2)
    contacts = sum(len(p.contacts) for p in pupils)
    assert 800 < contacts < 1200  # about two each
    assert len({p.sims_guid for p in pupils}) == 500
    assert make_example_pupils(3, seed=2) == pupils[:3]
    for p in pupils:
        assert dt.date(2009, 9, 1) <= p.dob <= dt.date(2021, 8, 31)
        assert len(p.upn) == 13 and p.upn[1:4] == "999"


def test_pupils_carry_their_line_and_a_flattened_address() -> None:
    pupil = next(parse_pupils((EXAMPLES / "student-valid.xml").read_bytes()))
    assert pupil.line == 13
    detail = pupil.address_detail
    assert pupil.address == " ".join(p for p in (detail.saon, detail.paon, detail.street, detail.locality) if p)
    assert (pupil.town, pupil.postcode, pupil.uprn) == (detail.town, detail.postcode, detail.uprn)
    assert pupil.contacts and all(c.address for c in pupil.contacts)


def test_parse_accepts_a_stream_such_as_gzip() -> None:
    pupils = make_example_pupils(20, seed=4)
    data = gzip.compress(write_student_file(example_header(), pupils))
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        assert _without_lines(list(parse_pupils(stream))) == pupils


def test_parse_header_reads_only_the_header() -> None:
    data = write_student_file(example_header(task_id=9), make_example_pupils(5, seed=1))
    header = parse_header(data[: len(data) // 2], "Student")  # the rest is never needed
    assert header.task_id == 9 and header.source_laestab == "9994000" and header.line == 3


def test_token_values_are_whitespace_collapsed_and_post_town_stands_in_for_town() -> None:
    pupil = dataclasses.replace(
        make_example_pupils(1, seed=5)[0],
        address_detail=Bs7666Address(paon="1", street="High Street", post_town="Sampleford"),
    )
    data = write_student_file(example_header(), [pupil])
    data = data.replace(f"<Surname>{pupil.surname}</Surname>".encode(),
                        f"<Surname>\n   Mc   {pupil.surname} </Surname>".encode(), 1)
    data = data.replace(b"<DOB>", b"<DOB> ", 1)
    assert validate_transfer(data, "Student").ok
    parsed = next(parse_pupils(data))
    assert parsed.surname == f"Mc {pupil.surname}"
    assert parsed.dob == pupil.dob
    assert (parsed.address, parsed.town) == ("1 High Street", "Sampleford")


def test_optional_sections_may_be_absent() -> None:
    pupil = IncomingPupil(sims_guid="0f8fad5b-d9cb-469f-a165-70867728950e", upn="A999400025001",
                          surname="Smith", forename="Ann", dob=dt.date(2015, 3, 1), ncy="5",
                          enrol_status="C", entry_date=dt.date(2019, 9, 4))
    data = write_student_file(example_header(), [pupil])
    assert validate_transfer(data, "Student").ok
    assert _without_lines(list(parse_pupils(data))) == [pupil]


def test_attainment_round_trip() -> None:
    pupils = make_example_attainment(make_example_pupils(30, seed=8), seed=8)
    data = write_attainment_file(example_header("Attainment"), pupils)
    assert validate_transfer(data, "Attainment").ok
    assert _without_lines(list(parse_attainment(data))) == pupils
    assert parse_header(data, "Attainment").aspect_hierarchy == "KS2 Teacher Assessment"


@pytest.mark.parametrize("data, text", [
    (b'<!DOCTYPE B2BStudentTransfer [<!ENTITY x "y">]><B2BStudentTransfer '
     b'xmlns="http://schemas.b2b-soap.org/transfer/student/2026/01"/>', "DOCTYPE"),
    (b"not xml", "Start tag expected"),
    ((EXAMPLES / "attainment-valid.xml").read_bytes(), "not a Student transfer file"),
    ((EXAMPLES / "student-invalid-truncated.xml").read_bytes(), "Premature end"),
    ((EXAMPLES / "student-invalid-bad-date.xml").read_bytes(), "bad value"),
])
def test_unreadable_files_raise_transfer_xml_errors(data: bytes, text: str) -> None:
    with pytest.raises(TransferXmlError) as caught:
        list(parse_pupils(data))
    assert text in caught.value.message


def test_missing_header_is_an_error() -> None:
    with pytest.raises(TransferXmlError):
        parse_header(b'<B2BStudentTransfer xmlns="http://schemas.b2b-soap.org/transfer/student/2026/01"/>',
                     "Student")


def _peak_parse_memory(n: int) -> int:
    data = write_student_file(example_header(), make_example_pupils(n, seed=6))
    tracemalloc.start()
    try:
        for _ in parse_pupils(io.BytesIO(data)):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_in_the_number_of_pupils() -> None:
    small, large = _peak_parse_memory(200), _peak_parse_memory(2000)
    assert large < 3 * small + 512 * 1024
