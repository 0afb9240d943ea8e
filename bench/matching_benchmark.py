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

Engines: ``ours`` (the `b2b-soap link` path), ``server`` (index once, then match),
``blocking`` (candidates only), ``splink`` (splink 5 given our blocking rules in its syntax,
a UPN comparison and our decision rule: top candidate, probability >= 0.9 and a lead of
5 bits) and ``splink_doc`` (splink as its documentation's standard example, the
configuration of earlier figures). DuckDB runs with ``SET threads=1``, as ours runs on one.

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

# our defaults (MatchSettings), which the fair splink run decides by as well
AUTO_THRESHOLD, POSSIBLE_THRESHOLD, MAX_POSSIBLE, MIN_LEAD_BITS = 0.9, 0.01, 5, 5.0


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


def _splink_tables(data: Path, la: str, incoming: str) -> tuple[list[dict], list[dict]]:
    """Both CSVs as rows, with the metaphone codes our blocking uses (DuckDB has no metaphone)."""
    import jellyfish

    from b2b_soap.matching.link import COLUMNS
    from b2b_soap.matching.normalise import normalise_name

    def phonetic(name: str | None) -> str | None:
        name = normalise_name(name or "").replace(" ", "")
        return (jellyfish.metaphone(name) or name) if name else None

    def load(path: Path) -> list[dict]:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [{k: (v or None) for k, v in row.items() if k in COLUMNS} for row in csv.DictReader(handle)]
        for row in rows:
            row["fn_phon"], row["sn_phon"] = phonetic(row["forename"]), phonetic(row["surname"])
        return rows

    return load(data / incoming), load(data / la)


def _splink_rules(fair: bool) -> list:
    """Blocking: ours in splink's syntax (fair), or the documentation example's four rules."""
    from splink import block_on
    if not fair:
        return [block_on("dob"), block_on("surname", "substr(dob, 1, 4)"), block_on("forename", "surname"),
                block_on("postcode")]
    return [
        block_on("upn"),                                          # upn
        block_on("dob", "gender"),                                # dob+gender
        block_on("sn_phon", "substr(dob, 1, 4)", "gender"),       # surname_phonetic+birth_year+gender
        block_on("postcode", "substr(lower(forename), 1, 1)"),    # postcode+forename_initial
        block_on("fn_phon", "substr(dob, 1, 7)"),                 # forename_phonetic+dob_year_month
        block_on("least(fn_phon, sn_phon)", "greatest(fn_phon, sn_phon)"),  # names_phonetic_any_order
        block_on("sn_phon", "postcode"),                          # surname_phonetic+postcode
        block_on("lower(address)", "postcode"),                   # address+postcode
        block_on("lower(address)", "lower(town)"),                # address+town
        # the rules for records missing a field, without their bound of 20 persons per key
        "l.sn_phon = r.sn_phon and substr(lower(l.forename), 1, 1) = substr(lower(r.forename), 1, 1) "
        "and l.gender = r.gender and (l.dob is null or r.dob is null)",  # surname_phonetic+forename_initial+...
        "l.surname = r.surname and l.gender = r.gender and (l.forename is null or r.forename is null)",
    ]


def _splink(data: Path, la: str, incoming: str, out: Path, fair: bool) -> dict:
    """splink 5 on DuckDB with one thread: u by random sampling, m by EM (sessions blocked on DOB and
    on names), linking incoming to the LA. ``fair``: our blocking rules, a UPN comparison and our
    decision rule (probability and lead); otherwise its documentation's standard example."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    connection = duckdb.connect()
    connection.execute("SET threads=1")
    db_api = DuckDBAPI(connection)
    left_rows, right_rows = _splink_tables(data, la, incoming)
    left = db_api.register(left_rows, dataset_display_name="incoming")
    right = db_api.register(right_rows, dataset_display_name="la")
    comparisons = [
        cl.NameComparison("forename").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.PostcodeComparison("postcode"),
        cl.LevenshteinAtThresholds("address", [1, 3]),
        cl.ExactMatch("gender"),
    ]
    if fair:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("upn", [1]))
    settings = SettingsCreator(link_type="link_only", unique_id_column_name="id", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=_splink_rules(fair),
                               retain_intermediate_calculation_columns=False)
    linker = Linker([left, right], settings)
    has_dob = any(row["dob"] for row in left_rows)
    deterministic = block_on("forename", "surname", "dob" if has_dob else "postcode")
    linker.training.estimate_probability_two_random_records_match([deterministic], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in ([block_on("dob")] if has_dob else []) + [block_on("forename", "surname")]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    rows = linker.inference.predict(threshold_match_probability=POSSIBLE_THRESHOLD if not fair else 1e-9
                                    ).as_record_list()
    by_incoming: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for row in rows:
        # link_only: which side is which depends on source_dataset
        pair = (row["id_l"], row["id_r"]) if row["source_dataset_l"] == "incoming" else (row["id_r"], row["id_l"])
        by_incoming[pair[0]].append((row["match_weight"], row["match_probability"], pair[1]))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["incoming_id", "la_id", "score", "decision"])
        for incoming_id, found in sorted(by_incoming.items()):
            found.sort(key=lambda item: (-item[0], item[2]))
            lead = found[0][0] - found[1][0] if len(found) > 1 else float("inf")
            if found[0][1] >= AUTO_THRESHOLD and (not fair or lead >= MIN_LEAD_BITS):
                writer.writerow([incoming_id, found[0][2], f"{found[0][1]:.6f}", "auto"])
                continue
            offered = [f for f in found if f[1] >= POSSIBLE_THRESHOLD][:MAX_POSSIBLE]
            writer.writerows([incoming_id, la_id, f"{probability:.6f}", "possible"]
                             for _, probability, la_id in offered)
    return {"seconds": time.perf_counter() - start}


def run_splink(data: Path, la: str, incoming: str, out: Path) -> dict:
    return _splink(data, la, incoming, out, fair=True)


def run_splink_doc(data: Path, la: str, incoming: str, out: Path) -> dict:
    return _splink(data, la, incoming, out, fair=False)


ENGINES = {"ours": run_ours, "server": run_server, "blocking": run_blocking, "splink": run_splink,
           "splink_doc": run_splink_doc}
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
    parser.add_argument("--engines", default="blocking,ours,server,splink,splink_doc")
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
