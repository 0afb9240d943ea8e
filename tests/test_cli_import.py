"""``import``: files SIMS made (FileGuid and TaskId in their header) import into the demo as shipped;
a second import of the same file is refused as a duplicate, a file of another base is refused."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from b2b_soap.db import VirtualFile, normalise_url
from b2b_soap.resources import package_path
from b2b_soap.transfer import validate_transfer

pytest_plugins = ["test_cli_support"]  # the cli fixture

EXAMPLES = package_path("schemas", "examples")
STUDENT, ATTAINMENT = EXAMPLES / "student-valid.xml", EXAMPLES / "attainment-valid.xml"


@pytest.fixture
def demo(cli, tmp_path, database_url, monkeypatch):
    """``b2b-soap demo`` as shipped (on SQLite or PostgreSQL); the CLI then runs on its config."""
    monkeypatch.setenv("B2B_SOAP_DATABASE_URL", database_url)
    data_dir = tmp_path / "demo"
    cli.ok("demo", "--data-dir", str(data_dir), "--persons", "50", "--no-serve")
    cli.config = data_dir / "b2b-soap.toml"
    return cli


def _files(database_url: str) -> list[VirtualFile]:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(VirtualFile.file_guid, VirtualFile.task_id, VirtualFile.data_type,
                                            VirtualFile.status, VirtualFile.source)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("example", [STUDENT, ATTAINMENT], ids=["student", "attainment"])
def test_each_valid_example_imports_into_the_demo_as_processed(demo, database_url, example):
    demo.ok("import", str(example), "--base", "9994001", "--process")
    [listed] = demo.json("files", "list")
    assert (listed["status"], listed["source"], listed["failure"]) == ("Processed", "import", "")


def test_import_takes_file_guid_and_task_from_the_header_and_refuses_a_second_copy(demo, database_url):
    demo.ok("import", str(STUDENT), "--base", "9994001")
    demo.ok("import", str(ATTAINMENT), "--base", "9994001")
    files = {row.data_type: row for row in _files(database_url)}
    assert tuple(files["Student"]) == ("0f8fad5b-d9cb-469f-a165-70867728950e", 42, "Student", "Received", "import")
    assert tuple(files["Attainment"])[1:] == (7, "Attainment", "Received", "import")  # no FileGuid: one made

    again = demo.fails("import", str(STUDENT), "--base", "9994001")
    assert "already received for base 9994001" in again and "nothing was stored" in again
    assert "already received" in demo.fails("import", str(ATTAINMENT), "--base", "9994001")
    assert len(_files(database_url)) == 2


def test_a_file_of_another_base_is_refused_before_anything_is_stored(demo, database_url):
    refused = demo.fails("import", str(STUDENT), "--base", "9994002")
    assert "names base 9994001" in refused and "not 9994002" in refused
    assert _files(database_url) == []



@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("student-invalid-*.xml")), ids=lambda p: p.stem)
def test_an_invalid_file_imported_and_processed_is_rejected_with_every_error_in_its_place(demo, database_url,
                                                                                           example):
    data = example.read_bytes()
    expected = "; ".join(f"line {e.line}: {e.message}" for e in validate_transfer(data, "Student").errors)
    result = demo("--json", "import", str(example), "--base", "9994001", "--process")
    assert result.code == 1, result
    assert json.loads(result.out) == {"file_id": json.loads(result.out)["file_id"], "status": "Rejected",
                                      "errors": expected}
    assert expected.startswith("line ") and [f.status for f in _files(database_url)] == ["Rejected"]
