"""The ``b2b-soap link`` contract: files in, links out, exit codes."""

import csv
import io
import json
import os
from pathlib import Path

import pytest

from b2b_soap.matching import MatchModel
from b2b_soap.cli import main
from b2b_soap.matching.link import COLUMNS, run_link
from b2b_soap.synth import generate_population


def _write(path: Path, rows: list[list[str]], header=COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _person_row(p, pid=None, **changes):
    row = {"id": pid or p.id, "upn": "", "forename": p.forename, "surname": p.surname,
           "dob": p.dob.isoformat(), "gender": p.gender, "address": p.address, "town": p.town,
           "postcode": p.postcode}
    row.update(changes)
    return [row[c] for c in COLUMNS]


@pytest.fixture(scope="module")
def people():
    return generate_population(800, seed=3)[0]


@pytest.fixture()
def files(tmp_path, people):
    la = _write(tmp_path / "LA.csv", [_person_row(p, upn=p.upn) for p in people])
    children = [p for p in people if p.is_child][:150]
    rows = [_person_row(p, "IN" + p.id) for p in children]
    rows.append(["INX", "", "Quentin", "Vandersloot", "2010-10-10", "M", "1 Nowhere St", "Leeds", "LS6 9ZZ"])
    rows += [
        ["", "", "No", "Id", "2010-01-01", "M", "", "", ""],                  # missing id
        ["IN-baddob", "", "Bad", "Dob", "10/10/2010", "M", "", "", ""],      # bad dob
        ["IN-badgender", "", "Bad", "Gender", "2010-01-01", "X", "", "", ""],  # bad gender
        ["IN-short", "", "Too", "Short"],                                     # wrong column count
    ]
    incoming = _write(tmp_path / "IN.csv", rows)
    return la, incoming, tmp_path / "LINKS.csv", children


def _read_links(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_link_writes_contract_output(files):
    la, incoming, out, children = files
    stderr = io.StringIO()
    assert run_link(la, incoming, out, None, None, stderr) == 0
    links = _read_links(out)
    assert list(links[0]) == ["incoming_id", "la_id", "score", "decision"]
    by_id: dict[str, list[dict[str, str]]] = {}
    for link in links:
        by_id.setdefault(link["incoming_id"], []).append(link)
        assert link["decision"] in ("auto", "possible") and 0 <= float(link["score"]) <= 1
    for rows in by_id.values():
        kinds = {r["decision"] for r in rows}
        assert kinds == {"auto"} and len(rows) == 1 or kinds == {"possible"} and len(rows) <= 5
        scores = [float(r["score"]) for r in rows]
        assert scores == sorted(scores, reverse=True)
    auto = {r["incoming_id"]: r["la_id"] for r in links if r["decision"] == "auto"}
    assert len(auto) >= 0.97 * len(children)
    assert all(la_id == incoming_id[2:] for incoming_id, la_id in auto.items())
    assert "INX" not in by_id  # decision none: no row


def test_bad_rows_are_reported_with_row_numbers_and_skipped(files):
    la, incoming, out, children = files
    stderr = io.StringIO()
    assert run_link(la, incoming, out, None, None, stderr) == 0
    report = stderr.getvalue()
    first_bad = len(children) + 3  # header, children, INX, then the bad rows
    assert f"IN.csv:{first_bad}: missing id" in report
    assert f"IN.csv:{first_bad + 1}: bad dob" in report
    assert f"IN.csv:{first_bad + 2}: bad gender" in report
    assert f"IN.csv:{first_bad + 3}: wrong column count" in report
    assert not any(r["incoming_id"].startswith("IN-") for r in _read_links(out))


def test_save_and_reuse_model(files, tmp_path):
    la, incoming, out, _ = files
    model_path = tmp_path / "model.json"
    assert run_link(la, incoming, out, None, model_path, io.StringIO()) == 0
    first = _read_links(out)
    MatchModel.load(model_path)
    assert run_link(la, incoming, out, model_path, None, io.StringIO()) == 0
    assert _read_links(out) == first


def test_unusable_inputs_exit_2(files, tmp_path):
    la, incoming, out, _ = files
    stderr = io.StringIO()
    assert run_link(tmp_path / "missing.csv", incoming, out, None, None, stderr) == 2
    assert "missing.csv" in stderr.getvalue()
    no_postcode = _write(tmp_path / "bad.csv", [["1", "", "A", "B", "", "", "", ""]], header=COLUMNS[:-1])
    stderr = io.StringIO()
    assert run_link(la, no_postcode, out, None, None, stderr) == 2
    assert "missing header column(s): postcode" in stderr.getvalue()
    (tmp_path / "model.json").write_text("nonsense")
    assert run_link(la, incoming, out, tmp_path / "model.json", None, io.StringIO()) == 2


def test_link_through_the_cli_saves_the_trained_model(files, tmp_path, capsys):
    la, incoming, out, _ = files
    model = tmp_path / "trained.json"
    assert main(["link", "--la", str(la), "--incoming", str(incoming), "--out", str(out),
                 "--save-model", str(model)]) == 0
    assert _read_links(out) and MatchModel.load(model) is not None
    assert "row" in capsys.readouterr().err
    assert main(["link", "--la", str(la), "--incoming", str(incoming), "--out", str(tmp_path / "again.csv"),
                 "--model", str(model)]) == 0
    assert _read_links(tmp_path / "again.csv") == _read_links(out)


def test_b2b_soap_link_command(files, tmp_path):
    """The installed `b2b-soap link` command keeps the contract: exit codes and output columns."""
    import shutil
    import subprocess
    import sys

    la, incoming, out, children = files
    command = shutil.which("b2b-soap", path=str(Path(sys.executable).parent)) or "b2b-soap"
    done = subprocess.run([command, "link", "--la", str(la), "--incoming", str(incoming), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    links = _read_links(out)
    assert list(links[0]) == ["incoming_id", "la_id", "score", "decision"]
    assert {r["incoming_id"] for r in links if r["decision"] == "auto"} >= {"IN" + children[0].id}
    assert "row" in done.stderr  # the bad rows are reported with their row numbers
    missing = subprocess.run([command, "link", "--la", str(tmp_path / "nope.csv"), "--incoming", str(incoming),
                              "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2


def test_link_json_summary_and_progress_through_the_cli(files, capsys):
    from b2b_soap.cli import main

    la, incoming, out, children = files
    arguments = ["link", "--la", str(la), "--incoming", str(incoming), "--out", str(out)]
    assert main(["--json", *arguments]) == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out)
    assert (summary["incoming"], summary["population"], summary["out"]) == (151, 800, str(out))
    assert summary["auto"] + summary["possible"] + summary["none"] == 151 and summary["auto"] >= 140
    assert "matching" not in printed.err  # stderr is no terminal here: no progress unless asked
    assert main([*arguments, "--progress"]) == 0
    printed = capsys.readouterr()
    assert printed.out == ""
    stages = [line for line in printed.err.splitlines() if ":" in line and "%" in line]
    assert [line.split(":")[0] for line in stages] == ["indexing the LA population", "training the model",
                                                       "matching"]
    assert "matching: 151/151 (100%)" in printed.err


def test_link_on_a_terminal_redraws_each_stage_in_place(files):
    """With stderr on a terminal, progress is shown unasked, each stage on one line redrawn in place."""
    import pty
    import re
    import shutil
    import subprocess
    import sys
    import tty

    la, incoming, out, _ = files
    command = shutil.which("b2b-soap", path=str(Path(sys.executable).parent)) or "b2b-soap"
    terminal, stderr = pty.openpty()
    tty.setraw(stderr)  # the bytes as written, no newline translation
    arguments = ["link", "--la", str(la), "--incoming", str(incoming), "--out", str(out)]
    done = subprocess.Popen([command, *arguments], stdout=subprocess.DEVNULL, stderr=stderr)
    os.close(stderr)
    shown = b""
    while chunk := _read_terminal(terminal):
        shown += chunk
    os.close(terminal)
    assert done.wait(120) == 0
    assert re.findall(rb"\r\x1b\[K([^\r\n]*)\n", shown) == [b"indexing the LA population: 800/800 (100%)",
                                                           b"training the model: 151/151 (100%)",
                                                           b"matching: 151/151 (100%)"]


def _read_terminal(terminal: int) -> bytes:
    try:
        return os.read(terminal, 4096)
    except OSError:  # EIO: the command has closed the terminal
        return b""
