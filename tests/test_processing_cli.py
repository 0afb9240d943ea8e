"""The processing and review commands, run through ``b2b_soap.cli.main`` with a config file."""
from __future__ import annotations

import argparse
import json
from datetime import date

from b2b_soap.commands import process as commands
from processing_support import add_base, add_bystander, pupil, transfer_bytes

pytest_plugins = ["test_cli_support"]  # the cli fixture


def run(ctx, capsys, *argv) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--json", *argv])
    args.config = None
    from b2b_soap.commands import common
    original = common.context_from_args
    commands.context_from_args = lambda _args: type(ctx)(ctx.settings)
    try:
        code = args.handler(args)
    finally:
        commands.context_from_args = original
    return code, capsys.readouterr().out


def test_import_process_review_and_report(ctx, capsys, tmp_path):
    add_bystander(ctx)
    add_base(ctx)
    path = tmp_path / "pupils.xml"
    path.write_bytes(transfer_bytes([pupil("Kai", "Moreno", date(2011, 3, 3))]))
    code, out = run(ctx, capsys, "import", str(path), "--base", "9994001", "--process")
    assert code == 0 and '"Processed"' in out
    code, out = run(ctx, capsys, "review", "unmatched")
    [item] = json.loads(out)
    assert item["forename"] == "Kai"
    code, out = run(ctx, capsys, "review", "create", str(item["id"]))
    assert json.loads(out)["decision"] == "new"
    code, out = run(ctx, capsys, "report", "base", "9994001")
    assert json.loads(out)["waiting_unmatched"] == 0
    code, out = run(ctx, capsys, "files", "list")
    assert [f["status"] for f in json.loads(out)] == ["Processed"]
    code, out = run(ctx, capsys, "conflicts", "list")
    assert json.loads(out) == []


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
