"""``b2b-soap aspect|hierarchy|attainment|suspense`` in-process, against the test database."""
from __future__ import annotations

import csv
import json
import os

import pytest
from sqlalchemy import select

from b2b_soap.licensing import ATTAINMENT_FEATURES
from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE, make_school_attainment
from b2b_soap.cli import main
from b2b_soap.db import AuditEntry, Base, Person, session_scope
from b2b_soap.transfer.models import AttainmentResult as FileResult
from test_attainment_support import (LAESTAB, accept, att_ctx, att_settings, attainment_bytes,  # noqa: F401
                                     install, link_pupils, vendor_key)
from b2b_soap.transfer.writer import make_example_pupils


@pytest.fixture
def config(tmp_path, att_ctx):
    s = att_ctx.settings
    path = tmp_path / "b2b-soap.toml"
    path.write_text(f'data_dir = "{s.data_dir}"\n[database]\nurl = "{s.database.url}"\n'
                    f'[licence]\npublic_key = "{s.licence.public_key}"\n'
                    f'[storage]\nimport_dir = "{s.storage.import_dir}"\n'
                    f'suspense_dir = "{s.storage.suspense_dir}"\n')
    return str(path)


@pytest.fixture
def cli(config, capsys):
    """Run the CLI; returns (exit code, parsed --json output or the text, stderr)."""
    def run(*argv: str, as_json: bool = True):
        code = main(["--config", config] + (["--json"] if as_json else []) + list(argv))
        out, err = capsys.readouterr()
        return code, (json.loads(out) if as_json and code == 0 and out.strip() else out), err
    return run


def _school(att_ctx):
    pupils = make_example_pupils(30, seed=5)
    with session_scope(att_ctx.sessions) as session:
        base = Base(laestab=LAESTAB, name="Example Primary", b2b_enabled=True)
        session.add(base)
        session.flush()
        link_pupils(session, base.id, pupils)
        return base.id, pupils


def test_attainment_from_the_command_line(att_ctx, vendor_key, cli, tmp_path):
    install(att_ctx, vendor_key)
    assert cli("hierarchy", "load", str(EXAMPLE_HIERARCHY_FILE))[1] == {"aspects": 33, "hierarchies": 5}
    code, found, _ = cli("hierarchy", "search", "b2b k")
    assert [h["name"] for h in found] == ["B2B KS1 2026", "B2B KS2 2026"]
    latin = ("KS2_LATIN", "Latin", "--type", "grade", "--grades", "EXS,WTS", "--ncys", "6")
    assert cli("aspect", "add", *latin)[0] == 0
    assert "KS2_LATIN" in [a["code"] for a in cli("aspect", "list")[1]]
    code, _, err = cli("aspect", "add", "KS2_LATIN", "Latin", "--type", "text")
    assert code == 1 and "already exists" in err
    assert cli("hierarchy", "add", "B2B Latin 2026", "--aspects", "KS2_LATIN")[1][0]["aspects"] == "KS2_LATIN"
    listed = cli("hierarchy", "list")[1]
    assert len(listed) == 6 and {"B2B KS2 2026", "B2B Latin 2026"} <= {h["name"] for h in listed}
    assert [h["aspects"] for h in listed if h["name"] == "B2B Latin 2026"] == ["KS2_LATIN"]
    code, text, _ = cli("hierarchy", "list", as_json=False)
    assert code == 0 and "B2B Latin 2026" in text and "B2B KS1 2026" in text

    base_id, pupils = _school(att_ctx)
    attainment = make_school_attainment(pupils)
    attainment[0].sims_guid, attainment[0].upn = "0f0f0f0f-0000-4000-8000-000000000002", "A999400099999"
    attainment[1].results.append(FileResult("KS2_GREEK", "EXS", attainment[1].results[0].collection_date))
    good = accept(att_ctx, base_id, attainment_bytes(attainment))
    bad = accept(att_ctx, base_id, b"<B2BAttainmentTransfer")
    counts = cli("attainment", "import-now")[1]
    assert (counts["files"], counts["suspense"], counts["failed"]) == (2, 1, 1)

    files = cli("attainment", "files")[1]
    assert {(f["file_id"], f["status"]) for f in files} == {(good, "suspense"), (bad, "failed")}
    assert "not a readable attainment file" in [f for f in files if f["file_id"] == bad][0]["error"]
    assert cli("attainment", "files", "--older-than", "1")[1] == []
    assert cli("attainment", "delete-file", bad)[1]["status"] == "deleted"

    items = cli("suspense", "list", "--file-id", good)[1]
    greek = [i for i in items if i["aspect_code"] == "KS2_GREEK"][0]
    pupil_items = [i for i in items if "pupil not matched" in i["reason"]]
    assert len(items) == len(pupil_items) + 1
    with session_scope(att_ctx.sessions) as session:
        person = Person(upn="", forename="New", surname="Pupil")
        session.add(person)
        session.flush()
        person_id = person.id
    matched = cli("suspense", "resolve", str(pupil_items[0]["id"]), "--person", str(person_id))[1]
    assert matched["resolved"] == len(pupil_items)
    done = cli("suspense", "resolve", str(greek["id"]), "--aspect", "KS2_LATIN")[1]
    assert done["file_done"] is True
    assert os.listdir(att_ctx.settings.import_path) == [] and os.listdir(att_ctx.settings.suspense_path) == []
    assert cli("suspense", "list")[1] == []
    assert cli("attainment", "files")[1] == []

    out = tmp_path / "ks2.csv"
    code, _, err = cli("attainment", "results", "--hierarchy", "B2B Primary 2026", "--ncy", "6",
                          "--csv", str(out))
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert rows and {r["ncy"] for r in rows} == {"6"} and f"{len(rows)} results" in err
    latin = cli("attainment", "results", "--aspect", "KS2_LATIN")[1]
    assert [r["value"] for r in latin] == ["EXS"]
    with session_scope(att_ctx.sessions) as session:
        deleted = session.scalar(select(AuditEntry).where(AuditEntry.action == "attainment.delete_file"))
        assert deleted.actor.startswith("cli:") and deleted.object_id == bad


@pytest.mark.parametrize("missing", ATTAINMENT_FEATURES)
def test_cli_refuses_attainment_without_each_licence_feature(att_ctx, vendor_key, cli, missing):
    install(att_ctx, vendor_key, [f for f in ATTAINMENT_FEATURES if f != missing])
    for argv in (("attainment", "import-now"), ("attainment", "results")):
        code, _, err = cli(*argv)
        assert code == 1 and f"does not include {missing}" in err


def test_cli_refuses_unsafe_directories(att_ctx, vendor_key, cli):
    install(att_ctx, vendor_key)
    att_ctx.settings.import_path.mkdir(mode=0o755, parents=True)
    os.chmod(att_ctx.settings.import_path, 0o755)
    code, _, err = cli("attainment", "import-now")
    assert code == 1 and "has mode 0755" in err and "chmod 700" in err
