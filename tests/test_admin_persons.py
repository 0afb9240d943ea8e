"""Population import and update: upsert by id, bad rows reported by line, all or nothing, audited."""
import csv
from datetime import date

import pytest
from sqlalchemy import func, select

from b2b_soap import persons
from b2b_soap.db import AuditEntry, CarerLink, Person, session_scope
from b2b_soap.errors import NotFound, ValidationFailed

HEADER = ["id", "upn", "forename", "surname", "dob", "gender", "address", "town", "postcode"]
ROWS = [
    ["A1", "", "Amy", "Smith", "2015-03-04", "F", "1 High Street", "Leeds", "ls1 4ab"],
    ["A2", "", "Ben", "Jones", "04/05/2012", "male", "2 Low Road", "Leeds", "LS2 9XY"],
    ["A3", "", "Cara", "Patel", "", "", "", "", ""],
]


def _write(path, rows, header=HEADER):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _import(ctx, path):
    with session_scope(ctx.sessions) as s:
        return persons.import_persons_csv(s, path, "tester")


def _people(ctx):
    with session_scope(ctx.sessions) as s:
        return {p.external_id: p for p in s.scalars(select(Person))}


def _audit(ctx, action):
    with session_scope(ctx.sessions) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_import_inserts_then_updates_only_changed_persons(ctx, tmp_path):
    report = _import(ctx, _write(tmp_path / "a.csv", ROWS))
    assert (report.rows, report.inserted, report.updated, report.skipped) == (3, 3, 0, [])
    people = _people(ctx)
    assert people["A1"].postcode == "LS1 4AB" and people["A1"].dob == date(2015, 3, 4)
    assert people["A2"].gender == "M" and people["A2"].dob == date(2012, 5, 4)
    assert people["A3"].dob is None

    changed = [ROWS[0][:3] + ["Smyth"] + ROWS[0][4:], ROWS[1], ["A4", "", "Dan", "Lee", "", "", "", "", ""]]
    report = _import(ctx, _write(tmp_path / "b.csv", changed))
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    people = _people(ctx)
    assert len(people) == 4 and people["A1"].surname == "Smyth" and people["A3"].forename == "Cara"
    [entry] = _audit(ctx, "person.update")
    assert entry.before == {"surname": "Smith"} and entry.after == {"surname": "Smyth"}
    assert entry.actor == "tester" and entry.object_id == str(people["A1"].id)
    summaries = _audit(ctx, "person.import")
    assert [e.after["inserted"] for e in summaries] == [3, 1]


def test_optional_columns_absent_from_a_file_are_left_alone(ctx, tmp_path):
    _import(ctx, _write(tmp_path / "a.csv", [ROWS[0] + ["07700900123", "amy@example.org"]],
                        HEADER + ["phone", "email"]))
    report = _import(ctx, _write(tmp_path / "b.csv", [ROWS[0]]))
    assert report.unchanged == 1
    assert _people(ctx)["A1"].phone == "07700900123"


def test_bad_rows_are_reported_by_line_and_skipped(ctx, tmp_path):
    rows = [ROWS[0],
            ["B1", "", "", "Nameless", "", "", "", "", ""],           # line 3: no forename
            ["B2", "", "Zed", "Zee", "2015-02-30", "", "", "", ""],    # line 4: no such date
            ["B3", "", "Yan", "Wu", "", "Q", "", "", ""],              # line 5: gender
            ["A1", "", "Amy", "Again", "", "", "", "", ""],            # line 6: id repeated
            ["B4", "", "Too", "Few"],                                  # line 7: short row
            ["B5", "", "Fut", "Ure", "2999-01-01", "", "", "", ""],    # line 8: future
            ["B6", "X999400126001", "Val", "Id", "", "", "", "", ""],  # line 9: bad check letter: warning
            ["B7", "", "Long", "Post", "", "", "", "", "LS1 4ABCDE"]]  # line 10: postcode too long
    report = _import(ctx, _write(tmp_path / "bad.csv", rows))
    assert [(p.row, p.message.split(":")[0]) for p in report.skipped] == [
        (3, "forename"), (4, "dob"), (5, "gender"), (6, "id 'A1' already given on line 2"),
        (7, "expected 9 values, found 4"), (8, "dob"), (10, "postcode")]
    assert [p.row for p in report.warnings] == [9]
    assert set(_people(ctx)) == {"A1", "B6"}


@pytest.mark.parametrize("header, message", [
    (["id", "forename", "surname"], "missing column(s) upn, dob, gender"),
    (HEADER + ["shoe_size"], "unknown column(s) shoe_size"),
])
def test_unusable_file_is_refused_whole(ctx, tmp_path, header, message):
    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import(ctx, _write(tmp_path / "x.csv", [], header))


def test_nothing_is_half_imported(ctx, tmp_path, monkeypatch):
    _import(ctx, _write(tmp_path / "a.csv", ROWS[:1]))

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(persons.changes, "audit", fail)  # the last step of an import
    changed = [ROWS[0][:3] + ["Changed"] + ROWS[0][4:], ROWS[1], ROWS[2]]
    with pytest.raises(RuntimeError):
        _import(ctx, _write(tmp_path / "b.csv", changed))
    people = _people(ctx)
    assert set(people) == {"A1"} and people["A1"].surname == "Smith"
    assert _audit(ctx, "person.update") == []


def test_carer_links_by_external_id_without_duplicates(ctx, tmp_path):
    _import(ctx, _write(tmp_path / "a.csv", ROWS))
    links = [("A1", "A3", "Mother", True, 1), ("A2", "A3", "Mother", True, 1),
             ("A1", "ZZ", "Father", True, 2)]
    for expected in (2, 0):
        with session_scope(ctx.sessions) as s:
            assert persons.load_carer_links(s, links) == expected
    with session_scope(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(CarerLink)) == 2


def test_update_person_is_validated_and_audited(ctx, tmp_path):
    _import(ctx, _write(tmp_path / "a.csv", ROWS))
    with session_scope(ctx.sessions) as s:
        result = persons.update_person(s, "officer", "A1", {"surname": "Smith-Jones", "dob": "2015-03-05",
                                                            "forename": "Amy"})
    assert result["changed"] == {"surname": ["Smith", "Smith-Jones"], "dob": ["2015-03-04", "2015-03-05"]}
    [entry] = _audit(ctx, "person.update")
    assert entry.before == {"surname": "Smith", "dob": "2015-03-04"} and entry.actor == "officer"
    with session_scope(ctx.sessions) as s:
        pid = persons.get_person(s, "A1").id
        assert persons.update_person(s, "officer", pid, {"surname": "Smith-Jones"})["changed"] == {}
        for changes, message in (({"shoe": "9"}, "cannot update shoe"), ({"id": "X"}, "cannot update id"),
                                 ({"gender": "Q"}, "gender"), ({"forename": ""}, "forename: required")):
            with pytest.raises(ValidationFailed, match=message):
                persons.update_person(s, "officer", pid, changes)
        with pytest.raises(NotFound):
            persons.update_person(s, "officer", "nobody", {"surname": "X"})
    assert len(_audit(ctx, "person.update")) == 1
