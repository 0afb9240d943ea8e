"""Matching benchmark: b2b-soap's matcher and splink 5 (DuckDB) on the same files.

Usage (after bench/gen_matching_benchmark.py):
    .venv/bin/python bench/matching_benchmark.py --data bench/out/5k [--incoming IN.csv]
    # hard mode: pupils with their (damaged) UPNs, then the contacts against the adults
    .venv/bin/python bench/matching_benchmark.py --data bench/out/hard --incoming IN.csv --targets pupils
    .venv/bin/python bench/matching_benchmark.py --data bench/out/hard --la LA_carers.csv \
        --incoming CONTACTS.csv --truth contacts_truth.csv --targets contacts

The ``blocking`` engine reports blocking pair recall (share of true pairs that any
blocking rule proposes) and candidates per incoming record; ``--targets`` prints the
issue's targets next to the figures.

Each engine runs in its own process so time and peak RSS are its own; "cpu s"
is the process's user+system CPU time (all threads), which a busy machine
inflates less than wall time.  Prints
precision, recall and F1 of ``auto``, recall of ``auto`` + ``possible`` (at
most 5 possible per record), wall time and peak RSS.  Needs ``splink`` and
``duckdb`` (bench only).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AUTO_THRESHOLD, POSSIBLE_THRESHOLD, MAX_POSSIBLE = 0.95, 0.01, 5


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_ours(data: Path, la: str, incoming: str, out: Path) -> dict:
    """The `b2b-soap link` path: read CSVs, index, train by EM, match, write."""
    import io

    from b2b_soap.matching.link import run_link
    start = time.perf_counter()
    code = run_link(data / la, data / incoming, out, None, None, io.StringIO())
    return {"seconds": time.perf_counter() - start, "exit": code}


def run_server(data: Path, la: str, incoming: str, out: Path) -> dict:
    """The server path: population indexed once, then batches matched."""
    import io

    from b2b_soap.matching import PopulationIndex, match_records, train_model
    from b2b_soap.matching.link import _write_links, read_records
    population = read_records(data / la, io.StringIO())
    batch = read_records(data / incoming, io.StringIO())
    start = time.perf_counter()
    index = PopulationIndex(population)
    built = time.perf_counter()
    model = train_model(index, batch)
    trained = time.perf_counter()
    decisions = match_records(index, batch, model)
    first = time.perf_counter()
    match_records(index, batch, model)
    second = time.perf_counter()
    _write_links(out, decisions)
    return {"seconds": first - trained, "index_seconds": built - start, "train_seconds": trained - built,
            "warm_seconds": second - first}


def run_blocking(data: Path, la: str, incoming: str, out: Path) -> dict:
    """Candidate pairs only: which true pairs the blocking rules propose, and how many pairs."""
    import io

    from b2b_soap.matching import PopulationIndex
    from b2b_soap.matching.link import read_records
    population = read_records(data / la, io.StringIO())
    batch = read_records(data / incoming, io.StringIO())
    start = time.perf_counter()
    index = PopulationIndex(population)
    left, right = index.candidate_pairs(index.encode(batch))
    seconds = time.perf_counter() - start
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["incoming_id", "la_id"])
        writer.writerows((batch[i].id, index.ids[j]) for i, j in zip(left.tolist(), right.tolist()))
    return {"seconds": seconds, "pairs": len(left), "records": len(batch)}


def run_splink(data: Path, la: str, incoming: str, out: Path) -> dict:
    """splink 5 as in its documentation's standard example (names, DOB, address,
    postcode; u by random sampling; m by EM), linking incoming to the LA."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def load(path: Path) -> list[dict]:
        with path.open(newline="", encoding="utf-8") as handle:
            return [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(handle)]

    start = time.perf_counter()
    db_api = DuckDBAPI()
    left = db_api.register(load(data / incoming), dataset_display_name="incoming")
    right = db_api.register(load(data / la), dataset_display_name="la")
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.LevenshteinAtThresholds("address", [1, 3]),
            cl.ExactMatch("gender"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("surname", "substr(dob, 1, 4)"),
            block_on("forename", "surname"),
            block_on("postcode"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([left, right], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("forename", "surname"))
    predictions = linker.inference.predict(threshold_match_probability=POSSIBLE_THRESHOLD)
    rows = predictions.as_record_list()
    by_incoming: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for row in rows:
        # link_only: which side is which depends on source_dataset
        if row["source_dataset_l"] == "incoming":
            by_incoming[row["id_l"]].append((row["match_probability"], row["id_r"]))
        else:
            by_incoming[row["id_r"]].append((row["match_probability"], row["id_l"]))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["incoming_id", "la_id", "score", "decision"])
        for incoming_id, found in sorted(by_incoming.items()):
            found.sort(key=lambda item: (-item[0], item[1]))
            if found[0][0] >= AUTO_THRESHOLD:
                writer.writerow([incoming_id, found[0][1], f"{found[0][0]:.6f}", "auto"])
            else:
                for probability, la_id in found[:MAX_POSSIBLE]:
                    writer.writerow([incoming_id, la_id, f"{probability:.6f}", "possible"])
    return {"seconds": time.perf_counter() - start}


ENGINES = {"ours": run_ours, "server": run_server, "blocking": run_blocking, "splink": run_splink}
# (name, share measured, at least) per --targets choice
TARGETS = {
    "pupils": (("blocking pair recall", "pair_recall", 0.999), ("F1 of auto", "f1", 0.998),
               ("recall of auto+possible", "recall_auto_possible", 0.998), ("precision of auto", "precision", 0.999)),
    "contacts": (("recall of auto+possible", "recall_auto_possible", 0.99), ("precision of auto", "precision", 0.995)),
    "large": (("F1 of auto", "f1", 0.997),),
}


def read_truth(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["incoming_id"]: row["la_id"] for row in csv.DictReader(handle)}


def pair_recall(truth: dict[str, str], pairs_path: Path) -> float:
    with pairs_path.open(newline="", encoding="utf-8") as handle:
        proposed = {(row["incoming_id"], row["la_id"]) for row in csv.DictReader(handle)}
    true_pairs = [(k, v) for k, v in truth.items() if v]
    return sum(pair in proposed for pair in true_pairs) / len(true_pairs)


def evaluate(truth: dict[str, str], links_path: Path) -> dict:
    auto: dict[str, str] = {}
    offered: dict[str, list[str]] = defaultdict(list)
    with links_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["decision"] == "auto":
                auto[row["incoming_id"]] = row["la_id"]
            else:
                offered[row["incoming_id"]].append(row["la_id"])
    with_partner = [k for k, v in truth.items() if v]
    correct = sum(1 for k, v in auto.items() if truth.get(k) == v)
    precision = correct / len(auto) if auto else 1.0
    recall = correct / len(with_partner)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    found = sum(1 for k in with_partner if auto.get(k) == truth[k] or truth[k] in offered[k][:MAX_POSSIBLE])
    strangers = sum(1 for k in auto if not truth.get(k))
    return {"auto": len(auto), "false_auto": len(auto) - correct, "stranger_auto": strangers,
            "precision": precision, "recall": recall, "f1": f1, "recall_auto_possible": found / len(with_partner)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--la", default="LA.csv")
    parser.add_argument("--incoming", default="IN_noupn.csv")
    parser.add_argument("--truth", default="truth.csv")
    parser.add_argument("--engines", default="blocking,ours,server,splink")
    parser.add_argument("--targets", choices=sorted(TARGETS))
    parser.add_argument("--run-engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_engine:
        out = args.data / f"links_{args.run_engine}_{args.incoming}"
        result = ENGINES[args.run_engine](args.data, args.la, args.incoming, out)
        result.update(peak_rss_mb=_peak_rss_mb(), cpu_seconds=_cpu_seconds(), links=str(out))
        print(json.dumps(result))
        return
    truth = read_truth(args.data / args.truth)
    with (args.data / args.la).open() as handle:
        n_la = sum(1 for _ in handle) - 1
    print(f"{args.data}: {len(truth)} incoming ({args.incoming}) vs {n_la} LA ({args.la}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'engine':8} {'auto':>5} {'false':>5} {'strang':>6} {'prec':>7} {'recall':>7} {'F1':>7} {'rec a+p':>8} "
          f"{'time s':>7} {'cpu s':>7} {'RSS MB':>7}  notes")
    measured: dict[str, float] = {}
    for engine in args.engines.split(","):
        done = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--la", args.la, "--incoming",
                               args.incoming, "--run-engine", engine],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            print(f"{engine:8} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if engine == "blocking":
            measured["pair_recall"] = pair_recall(truth, Path(result["links"]))
            print(f"{engine:8} blocking pair recall {measured['pair_recall']:.4f}, "
                  f"{result['pairs'] / result['records']:.1f} candidates per record "
                  f"({result['pairs']} pairs), {result['seconds']:.2f}s, cpu {result['cpu_seconds']:.1f}s")
            continue
        scores = evaluate(truth, Path(result["links"]))
        if engine == "ours":
            measured.update(scores)
        notes = ""
        if engine == "server":
            notes = (f"match only (cold); index build {result['index_seconds']:.2f}s, "
                     f"train {result['train_seconds']:.2f}s, warm re-match {result['warm_seconds']:.2f}s")
        print(f"{engine:8} {scores['auto']:5d} {scores['false_auto']:5d} {scores['stranger_auto']:6d} "
              f"{scores['precision']:7.4f} {scores['recall']:7.4f} {scores['f1']:7.4f} "
              f"{scores['recall_auto_possible']:8.4f} {result['seconds']:7.2f} {result['cpu_seconds']:7.1f} "
              f"{result['peak_rss_mb']:7.0f}  {notes}")
    for name, key, least in TARGETS.get(args.targets, ()):
        if key in measured:
            verdict = "met" if measured[key] >= least else "MISSED"
            print(f"target {name} >= {least}: {measured[key]:.4f} {verdict}")


if __name__ == "__main__":
    main()
