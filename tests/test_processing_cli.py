"""The processing and review commands (``import``, ``process``, ``files``, ``review``, ``conflicts``,
``report``), run through ``b2b_soap.cli.main`` on the database the ``ctx`` fixture set up."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from b2b_soap.db import Conflict, IncomingRecord, QueueEntry, SystemDefault, VirtualFile, session_scope
from processing_support import (add_base, add_bystander, add_person, add_surname_conflicts, get_person, pupil,
                                transfer_bytes, upload)

pytest_plugins = ["test_cli_support"]  # the cli fixture: same data directory and database as ctx


def _import(cli, tmp_path, pupils, *options) -> dict:
    path = tmp_path / "pupils.xml"
    path.write_bytes(transfer_bytes(pupils))
    return cli.ok("--json", "import", str(path), "--base", "9994001", *options).out


def _record(ctx, incoming_id: int) -> tuple:
    with session_scope(ctx.sessions) as session:
        record = session.get(IncomingRecord, incoming_id)
        return record.status, record.person_id, record.reason


def test_import_process_review_and_report(ctx, cli, tmp_path):
    add_bystander(ctx)
    add_base(ctx)
    out = _import(cli, tmp_path, [pupil("Kai", "Moreno", date(2011, 3, 3))], "--process")
    assert '"Processed"' in out
    [item] = cli.json("review", "unmatched")
    assert item["forename"] == "Kai"
    assert cli.json("review", "create", str(item["id"]))["decision"] == "new"
    assert cli.json("report", "base", "9994001")["waiting_unmatched"] == 0
    assert [f["status"] for f in cli.json("files", "list")] == ["Processed"]
    assert cli.json("conflicts", "list") == []


def test_records_are_shown_matched_and_rejected(ctx, cli, tmp_path):
    add_bystander(ctx)
    add_base(ctx)
    target = add_person(ctx, forename="Jack", surname="Oldfield", dob=date(2010, 1, 9), gender="M",
                        address="3 Mill Lane", town="Elsewhere", postcode="ZZ1 1ZZ")
    imported = json.loads(_import(cli, tmp_path, [pupil("Kai", "Moreno", date(2011, 3, 3)),
                                                  pupil("Noah", "Field", date(2013, 7, 8))]))
    assert imported["status"] == "Received"
    [processed] = cli.json("process")
    assert (processed["file_id"], processed["status"], processed["unmatched"]) == (imported["file_id"],
                                                                                   "Processed", 2)
    assert cli.json("process") == []
    ids = {item["forename"]: item["id"] for item in cli.json("review", "unmatched")}

    shown = cli.json("review", "show", str(ids["Kai"]))
    assert (shown["id"], shown["surname"], shown["dob"]) == (ids["Kai"], "Moreno", "2011-03-03")
    text = cli.ok("review", "show", str(ids["Kai"])).out
    assert "Moreno" in text and "\ncandidates:" in text and "\nfindings:" in text
    assert "no incoming record 999999" in cli.fails("review", "show", "999999")

    matched = cli.json("review", "match", str(ids["Kai"]), str(target))
    assert (matched["incoming_id"], matched["person_id"], matched["decision"]) == (
        ids["Kai"], target, "manual")
    assert _record(ctx, ids["Kai"])[:2] == ("matched", target)

    rejected = cli.json("review", "reject", str(ids["Noah"]), "--reason", "left the LA")
    assert rejected == {"incoming_id": ids["Noah"], "status": "rejected"}
    assert _record(ctx, ids["Noah"]) == ("rejected", None, "left the LA")
    assert "not unmatched" in cli.fails("review", "reject", str(ids["Noah"]))
    assert cli.json("review", "unmatched") == []
    corrected = cli.json("review", "match", str(ids["Noah"]), str(target))  # a wrong rejection is corrected
    assert (corrected["incoming_id"], corrected["person_id"]) == (ids["Noah"], target)
    assert _record(ctx, ids["Noah"])[:2] == ("matched", target)


def test_conflicts_are_resolved_in_one_command(ctx, cli):
    persons = add_surname_conflicts(ctx, add_base(ctx))
    listed = cli.json("conflicts", "list")
    assert sorted(c["person_id"] for c in listed) == sorted(persons.values())
    ids = [str(c["id"]) for c in listed]

    resolved = cli.json("conflicts", "resolve", *ids, "--take")
    assert sorted((str(r["id"]), r["status"]) for r in resolved) == sorted((i, "taken") for i in ids)
    surnames = {get_person(ctx, p).surname for p in persons.values()}
    assert surnames == {"Baker-Ward", "Carter-Ward", "Hill-Ward"}
    with session_scope(ctx.sessions) as session:
        assert set(session.scalars(select(Conflict.status))) == {"taken"}
    assert cli.json("conflicts", "list") == []
    assert len(cli.json("conflicts", "list", "--status", "taken")) == 3
    assert "already taken" in cli.fails("conflicts", "resolve", ids[0], "--keep")
    assert cli("conflicts", "resolve", ids[0]).code == 2  # --take or --keep is required


def test_import_process_of_a_file_given_back_for_another_attempt_reports_it_received(ctx, cli, tmp_path):
    """Processing fails for a reason that may pass (here CARER_MIN stored unreadable in the database):
    the file waits for its next attempt, and ``import --process`` says Received, exits 0 and runs
    nothing meant for other kinds of file."""
    add_bystander(ctx)
    add_base(ctx)
    with session_scope(ctx.sessions) as session:
        session.add(SystemDefault(name="CARER_MIN", value="sixteen"))
    path = tmp_path / "pupils.xml"
    path.write_bytes(transfer_bytes([pupil("Kai", "Moreno", date(2011, 3, 3))]))
    result = cli("--json", "import", str(path), "--base", "9994001", "--process")
    assert (result.code, result.err) == (0, ""), result
    imported = json.loads(result.out)
    assert (imported["status"], imported["errors"]) == ("Received", "")
    with session_scope(ctx.sessions) as session:
        assert session.get(VirtualFile, imported["file_id"]).status == "Received"
        entry = session.scalar(select(QueueEntry).where(QueueEntry.file_id == imported["file_id"]))
        assert entry.attempts == 1 and "CARER_MIN must be a whole number" in entry.last_error


def test_failed_file_is_retried(ctx, cli):
    add_bystander(ctx)
    file_id = upload(ctx, add_base(ctx), [pupil("Ivy", "Lane", date(2012, 1, 1))])
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        good, vf.content = vf.content, vf.content[:-1] + bytes([vf.content[-1] ^ 1])
    failed = cli("--json", "process")
    assert failed.code == 1 and [r["status"] for r in json.loads(failed.out)] == ["Failed"]
    with session_scope(ctx.sessions) as session:
        session.get(VirtualFile, file_id).content = good
    assert cli.json("files", "retry", file_id) == {"id": file_id, "status": "Received"}
    assert "only Failed files" in cli.fails("files", "retry", file_id)
    assert [r["status"] for r in cli.json("process")] == ["Processed"]
    assert "no file nosuchfile" in cli.fails("files", "retry", "nosuchfile")


def test_review_show_prints_the_record_data_as_lines(cli, tmp_path):
    cli.ok("init")
    cli.ok("base", "add", "9994001", "--name", "North School", "--b2b")
    path = tmp_path / "pupils.xml"
    path.write_bytes(transfer_bytes([pupil("Kai", "Moreno", date(2011, 3, 3))]))
    cli.ok("import", str(path), "--base", "9994001", "--process")
    [item] = cli.json("review", "unmatched")
    shown = cli.ok("review", "show", str(item["id"])).out
    assert "{'" not in shown and '{"' not in shown, shown
    data = shown.split("\ndata:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert data and all(line.startswith("  ") for line in data), shown
    assert isinstance(cli.json("review", "show", str(item["id"]))["data"], dict)
