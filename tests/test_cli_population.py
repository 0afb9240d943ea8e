"""``person import``, ``person update`` and ``person show``."""
import json
from itertools import count
from types import SimpleNamespace

pytest_plugins = ["test_cli_support"]  # the cli and plain_cli fixtures


HEADER = "id,upn,forename,surname,dob,gender,address,town,postcode,phone\n"


def test_person_import_update_show(cli, tmp_path):
    cli.ok("init")
    good = tmp_path / "people.csv"
    good.write_text(HEADER + "L1,,Amy,Smith,2015-03-04,F,1 High St,Leeds,LS1 4AB,0113 496 0000\n"
                             "L2,,Ben,Jones,2012-05-04,M,2 Low Rd,Leeds,LS2 9XY,\n")
    summary = cli.json("person", "import", str(good))
    assert (summary["inserted"], summary["skipped"], summary["skipped_rows"]) == (2, 0, [])
    assert cli.json("person", "import", str(good))["unchanged"] == 2

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(HEADER + "L1,,Amy,Smyth,2015-03-04,F,1 High St,Leeds,LS1 4AB,0113 496 0000\n"
                              "L3,,,Nameless,,,,,,\n"
                              "L4,,Cat,Lee,not-a-date,,,,,\n"
                              "L5,,Dee,Ng,,,,,,\n"
                              "L6,,,Ode,31/02/2015,Q,,,,\n")
    result = cli("person", "import", str(mixed))
    assert result.code == 3
    shown = dict(line.split() for line in result.out.splitlines())
    assert (shown["inserted"], shown["updated"], shown["skipped"]) == ("1", "1", "3")
    assert "skipped: line 3: forename: required" in result.err
    assert "skipped: line 4: dob: not a date" in result.err
    every = next(line for line in result.err.splitlines() if line.startswith("skipped: line 6:"))
    assert "forename: required" in every and "dob: not a date" in every and "gender: expected M, F" in every
    assert cli.json("person", "show", "L1")["surname"] == "Smyth"
    assert cli.json("person", "show", "L5")["forename"] == "Dee"

    updated = cli.json("person", "update", "L2", "--surname", "Jones-Brown", "--middle-names", "Carl",
                       "--dob", "04/05/2012")
    assert updated["changed"] == {"surname": ["Jones", "Jones-Brown"], "middle_names": ["", "Carl"]}
    table = cli.ok("person", "update", "L2", "--postcode", "ls29xz").out
    assert table.splitlines()[1].split() == ["postcode", "LS2", "9XY", "LS2", "9XZ"]
    assert "no change" in cli.ok("person", "update", "L2", "--postcode", "LS2 9XZ").out
    internal = cli.json("person", "show", "L2")["person_id"]
    assert cli.json("person", "show", f"#{internal}")["surname"] == "Jones-Brown"

    assert "unknown person 'L9'" in cli.fails("person", "update", "L9", "--surname", "X")
    assert "unknown person" in cli.fails("person", "show", "#999999")
    assert "nothing to change" in cli.fails("person", "update", "L2")
    assert "gender: expected M, F, U or X" in cli.fails("person", "update", "L2", "--gender", "Q")
    assert "dob: date of birth out of range" in cli.fails("person", "update", "L2", "--dob", "2999-01-01")
    assert cli("person", "update", "L2", "--shoe-size", "9").code == 2

    headerless = tmp_path / "headerless.csv"
    headerless.write_text("L1,,Amy,Smith\n")
    assert "missing column(s)" in cli.fails("person", "import", str(headerless))
    assert "cannot read" in cli.fails("person", "import", str(tmp_path / "missing.csv"))
    assert list(json.loads(cli.ok("--json", "person", "show", "L1").out))[:2] == ["person_id", "id"]


def test_person_import_progress_off_a_terminal_a_line_at_most_every_five_seconds(cli, tmp_path, monkeypatch):
    """Off a terminal each stage shows its first and last lines, and between them a line only when
    five seconds have passed since the one shown before. The progress reads a clock on which each
    reading is ``step`` seconds after the last (about one batch of 20,000 rows each)."""
    cli.ok("init")
    many = tmp_path / "many.csv"
    many.write_text(HEADER + "".join(f"P{n},,Amy,Smith,,,,,,\n" for n in range(40_000)))
    ends = ["reading: 40,000/40,000 (100%)", "staging: 20,000/40,000 (50%)", "staging: 40,000/40,000 (100%)",
            "saving: 0/40,000 (0%)", "saving: 40,000/40,000 (100%)"]
    slow, quick = (10.0, ["reading: 20,000", "reading: 40,000", *ends]), (1.0, ["reading: 20,000", *ends])
    for step, shown in (slow, quick):
        clock = SimpleNamespace(monotonic=count(1_000_000.0, step).__next__)
        monkeypatch.setattr("b2b_soap.commands.progress.time", clock)
        assert cli.ok("person", "import", str(many)).err.splitlines() == shown
