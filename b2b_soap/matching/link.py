"""``b2b-soap link``: match an incoming CSV against an LA CSV, in memory.

Input CSVs (UTF-8, header row): ``id,upn,forename,surname,dob,gender,address,town,postcode``;
only ``id`` must be filled, ``dob`` is ``YYYY-MM-DD``, ``gender`` ``M``/``F``/empty.
Output: ``incoming_id,la_id,score,decision`` — at most one ``auto`` row per
incoming id, or up to ``max_possible`` ranked ``possible`` rows.
Exit 0 when the run completes (bad rows are reported and skipped), 2 when an
input is unusable.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from b2b_soap.matching.decide import AUTO, NONE
from b2b_soap.matching.model import MatchModel, ModelError
from b2b_soap.matching.pipeline import Progress, link_records
from b2b_soap.matching.records import Record

__all__ = ["COLUMNS", "OUTPUT_COLUMNS", "add_link_arguments", "main_link", "run_link", "read_records"]

COLUMNS = ("id", "upn", "forename", "surname", "dob", "gender", "address", "town", "postcode")
OUTPUT_COLUMNS = ("incoming_id", "la_id", "score", "decision")
EXIT_OK, EXIT_UNUSABLE = 0, 2


class InputError(Exception):
    """An input file that cannot be used at all."""


def _row_record(row: dict[str, str]) -> Record:
    """One CSV row → Record; ValueError with a short reason for a bad row."""
    if not row["id"].strip():
        raise ValueError("missing id")
    dob = None
    if row["dob"].strip():
        try:
            dob = date.fromisoformat(row["dob"].strip())
        except ValueError:
            raise ValueError(f"bad dob {row['dob']!r} (want YYYY-MM-DD)") from None
    gender = row["gender"].strip().upper() or None
    if gender not in (None, "M", "F"):
        raise ValueError(f"bad gender {row['gender']!r} (want M, F or empty)")
    return Record(row["id"].strip(), row["upn"].strip(), row["forename"], "", row["surname"], dob,
                  gender, row["address"], row["town"], row["postcode"])


def read_records(path: Path, stderr: TextIO) -> list[Record]:
    """Read a link-format CSV; bad rows are reported on ``stderr`` and skipped."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise InputError(f"{path}: cannot open: {error.strerror or error}") from error
    records: list[Record] = []
    with handle:
        try:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            missing = [name for name in COLUMNS if name not in header]
            if missing:
                raise InputError(f"{path}: missing header column(s): {', '.join(missing)}")
            position = {name: header.index(name) for name in COLUMNS}
            seen: set[str] = set()
            for line in reader:
                number = reader.line_num
                if not line or line == [""]:
                    continue
                if len(line) != len(header):
                    print(f"{path}:{number}: wrong column count ({len(line)}, want {len(header)}); "
                          "row skipped", file=stderr)
                    continue
                try:
                    record = _row_record({name: line[i] for name, i in position.items()})
                except ValueError as error:
                    print(f"{path}:{number}: {error}; row skipped", file=stderr)
                    continue
                if record.id in seen:
                    print(f"{path}:{number}: duplicate id {record.id!r}; row skipped", file=stderr)
                    continue
                seen.add(record.id)
                records.append(record)
        except UnicodeDecodeError as error:
            raise InputError(f"{path}: not UTF-8: {error.reason}") from error
        except csv.Error as error:
            raise InputError(f"{path}: not a readable CSV: {error}") from error
    return records


def run_link(la_csv: Path, incoming_csv: Path, out_csv: Path, model_path: Path | None,
             save_model: Path | None, stderr: TextIO = sys.stderr, progress: Progress | None = None,
             summary: TextIO | None = None) -> int:
    """Run the link command; returns the exit code.

    Args:
        la_csv: the LA population.
        incoming_csv: the records to match.
        out_csv: where the links are written.
        model_path: use this trained model instead of training by EM.
        save_model: write the model used to this file.
        stderr: where problems are reported.
        progress: told as each stage starts and ends.
        summary: where a JSON summary of the run is written (``--json``: stdout).
    """
    try:
        model = MatchModel.load(model_path) if model_path else None
        population = read_records(Path(la_csv), stderr)
        incoming = read_records(Path(incoming_csv), stderr)
    except (InputError, ModelError) as error:
        print(f"error: {error}", file=stderr)
        return EXIT_UNUSABLE
    if not population or not incoming:
        decisions = []
        print("warning: no usable rows in an input; nothing matched", file=stderr)
    else:
        decisions, model = link_records(population, incoming, model=model, progress=progress)
        if save_model:
            try:
                model.save(save_model)
            except OSError as error:
                print(f"error: cannot write {save_model}: {error.strerror or error}", file=stderr)
                return EXIT_UNUSABLE
    try:
        _write_links(Path(out_csv), decisions)
    except OSError as error:
        print(f"error: cannot write {out_csv}: {error.strerror or error}", file=stderr)
        return EXIT_UNUSABLE
    counts = {kind: sum(d.decision == kind for d in decisions) for kind in (AUTO, "possible", NONE)}
    print(f"linked {len(incoming)} incoming against {len(population)}: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()), file=stderr)
    if summary is not None:
        print(json.dumps({"incoming": len(incoming), "population": len(population), **counts,
                          "out": str(out_csv)}, indent=2), file=summary)
    return EXIT_OK


def _write_links(path: Path, decisions: list) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for decision in decisions:
            if decision.decision == NONE:
                continue
            for candidate in decision.candidates:
                writer.writerow([decision.record_id, candidate.la_id, f"{candidate.probability:.6f}",
                                 decision.decision])


def add_link_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``link`` options to a (sub)parser."""
    parser.add_argument("--la", required=True, type=Path, help="LA population CSV")
    parser.add_argument("--incoming", required=True, type=Path, help="incoming records CSV")
    parser.add_argument("--out", required=True, type=Path, help="output links CSV")
    parser.add_argument("--model", type=Path, default=None, help="use this model instead of training")
    parser.add_argument("--save-model", type=Path, default=None, help="write the model used to FILE")


def main_link(args: argparse.Namespace, progress: Progress | None = None) -> int:
    """Entry point for parsed ``link`` arguments (a JSON summary on stdout with ``--json``)."""
    return run_link(args.la, args.incoming, args.out, args.model, args.save_model, sys.stderr, progress,
                    sys.stdout if getattr(args, "json", False) else None)
