"""A sampled mutation score (cosmic-ray) with the tests that cover each mutant. Too slow for CI.

    .venv/bin/python bench/mutation_sample.py --coverage COVERAGE_FILE --junit JUNIT_XML
        [--sample 400] [--seed 2026] [--jobs 2] [--packages service,commands,review,processing]

Every mutant of the four packages is too many to run (about 10,000, each against the tests that
reach it), so a seeded uniform sample of them is run and the score is given with its 95% Wilson
interval, overall and per package.

Which tests a mutant is run against comes from a coverage run with one context per test, made
once (about 30 minutes; with B2B_SOAP_TEST_DATABASE_URL set so the PostgreSQL cases count too):

    .venv/bin/python bench/mutation_sample.py --make-coverage /tmp/mut

It measures the test process and every process a test starts (the servers, the console script,
the workers ``serve --workers`` forks):
a hook in the venv, present only for that run, starts coverage in each child, which records the
test that started it (``PYTEST_CURRENT_TEST``). Then:

    .venv/bin/python bench/mutation_sample.py --coverage /tmp/mut/.coverage --junit /tmp/mut/junit.xml

A mutant runs the tests that executed its lines, fastest first, stopping at the first failure. A
mutant of a line run only at import (a constant, a signature) runs the tests that reach its module.
A mutant inside an annotation of a module with ``from __future__ import annotations`` is
equivalent by construction and left out of the score. A child process killed by a signal saves no
coverage, so what only it ran counts as reached by no test: the score is a lower bound.

Each job mutates its own copy of the checkout, never the working tree. Results go to
``bench/mutation-results/sample-SEED.json`` (run again to resume); the survivors are printed with
their diffs.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from coverage import CoverageData
from cosmic_ray.commands.init import _all_work_items
from cosmic_ray.mutating import mutate_and_test, mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_item import MutationSpec, TestOutcome

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "mutation-results"
PYTHON = ROOT / ".venv" / "bin" / "python"
MAX_TESTS = 150  # per mutant, the fastest of those that reach it
TIMEOUT = 900.0


def make_coverage(out: Path) -> int:
    """Run the whole suite under coverage, one context per test, children included."""
    out.mkdir(parents=True, exist_ok=True)
    # patch: what the --workers children run (forked, ending in os._exit) is measured too
    common = (f"[run]\nsource = b2b_soap\nparallel = true\nsigterm = true\npatch =\n    _exit\n    fork\n"
              f"data_file = {out}/.coverage\n")
    (out / "covrc").write_text(common)
    (out / "covrc-child").write_text(common + "context = ${PYTEST_CURRENT_TEST}\n")
    hook = Path(subprocess.run([PYTHON, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip()) / "zz_b2b_mutation_coverage.pth"
    hook.write_text("import coverage; coverage.process_startup()\n")
    try:
        return subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cov=b2b_soap",
                               f"--cov-config={out}/covrc", "--cov-context=test", "--cov-report=",
                               f"--junitxml={out}/junit.xml", "tests"], cwd=ROOT,
                              env={**os.environ, "COVERAGE_PROCESS_START": str(out / "covrc-child")}).returncode
    finally:
        hook.unlink()


def mutants(packages: list[str]) -> list[MutationSpec]:
    """Every mutation cosmic-ray's default operators make in the packages' modules, paths relative."""
    os.chdir(ROOT)
    modules = sorted(p.relative_to(ROOT) for package in packages for p in (ROOT / "b2b_soap" / package).rglob("*.py"))
    return [item.mutations[0] for item in _all_work_items(modules, {})]


def in_annotation(spec: MutationSpec) -> bool:
    """A mutant inside a type annotation of a module whose annotations are never evaluated
    (``from __future__ import annotations``): equivalent by construction."""
    tree = ast.parse((ROOT / spec.module_path).read_text())
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in tree.body):
        return False
    return any(_spans(a, spec.start_pos, spec.end_pos) for a in _annotations(tree))


def compiles(spec: MutationSpec) -> bool:
    """False for a mutant that is not valid Python (e.g. ``**`` in a dict display made ``>>``)."""
    code = mutate_code((ROOT / spec.module_path).read_text(), get_operator(spec.operator_name)(),
                       spec.occurrence)
    try:
        compile(code, str(spec.module_path), "exec")
    except SyntaxError:
        return False
    return True


def _annotations(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation:
            yield node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _spans(node: ast.AST, start: tuple[int, int], end: tuple[int, int]) -> bool:
    return (node.lineno, node.col_offset) <= tuple(start) and tuple(end) <= (node.end_lineno, node.end_col_offset)


def key(spec: MutationSpec) -> str:
    return f"{spec.module_path}:{spec.operator_name}:{spec.occurrence}"


def tests_by_line(coverage_file: str) -> tuple[dict[str, dict[int, set[str]]], dict[str, set[str]]]:
    """For each source file (relative path): the tests that ran each line, and those that ran any."""
    data = CoverageData(basename=coverage_file)
    data.read()
    by_line: dict[str, dict[int, set[str]]] = {}
    by_module: dict[str, set[str]] = {}
    for filename in data.measured_files():
        relative = os.path.relpath(filename, data_root(filename))
        lines = {line: {c.split("|")[0].split(" (")[0] for c in contexts if c} for line, contexts in
                 data.contexts_by_lineno(filename).items()}
        by_line[relative] = lines
        by_module[relative] = set().union(*lines.values()) if lines else set()
    return by_line, by_module


def data_root(filename: str) -> str:
    return filename[:filename.rindex("/b2b_soap/")]


def durations(junit: str) -> dict[str, float]:
    """Seconds per test id that passed, from pytest's JUnit XML (a test that fails unmutated kills nothing)."""
    found = {}
    for case in ET.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")  # "tests.test_x" or "tests.test_x.TestClass"
        for split in range(len(parts), 0, -1):
            module = "/".join(parts[:split]) + ".py"
            if (ROOT / module).exists() and not len(case):  # no failure, error or skip element
                found["::".join([module, *parts[split:], case.get("name")])] = float(case.get("time", 0))
                break
    return found


def chosen_tests(spec: MutationSpec, by_line, by_module, seconds: dict[str, float]) -> list[str]:
    lines = by_line.get(str(spec.module_path), {})
    reached = set().union(*(lines.get(n, set()) for n in range(spec.start_pos[0], spec.end_pos[0] + 1)))
    if not reached and not any(lines.get(n) is not None for n in range(spec.start_pos[0], spec.end_pos[0] + 1)):
        return []  # never executed, not even at import
    if not reached:  # run at import only
        reached = by_module.get(str(spec.module_path), set())
    return sorted((t for t in reached if t in seconds), key=lambda t: (seconds[t], t))[:MAX_TESTS]


def _copy_checkout(into: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def _start_job(copies: list[str], counter) -> None:
    with counter.get_lock():
        place = copies[counter.value]
        counter.value += 1
    os.chdir(place)
    os.environ["PYTHONPATH"] = place  # the copy, not the editable install, is imported and mutated
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"


def run_one(spec: MutationSpec, tests: list[str]) -> dict:
    if in_annotation(spec):
        return {"outcome": "equivalent", "why": "inside an annotation that is never evaluated", "diff": "", "tests": 0}
    if not compiles(spec):
        return {"outcome": "incompetent", "why": "not valid Python", "diff": "", "tests": 0}
    if not tests:
        return {"outcome": "survived", "why": "no test reaches it", "diff": "", "tests": 0}
    args = Path(tempfile.mkstemp(suffix=".args")[1])
    args.write_text("\n".join(tests))
    command = f"{PYTHON} -m pytest -x -q -rfE -p no:cacheprovider @{args}"
    result = mutate_and_test([spec], command, TIMEOUT)
    args.unlink()
    outcome = {TestOutcome.KILLED: "killed", TestOutcome.SURVIVED: "survived"}.get(result.test_outcome, "incompetent")
    if result.worker_outcome.name == "NO_TEST":
        outcome = "no mutation"
    return {"outcome": outcome, "diff": result.diff or "", "tests": len(tests), "killer": _killer(result.output or ""),
            "why": "" if outcome != "incompetent" else (result.output or "")[-2000:]}


def _killer(output: str) -> str:
    """The test that failed first, from pytest's short summary."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split()[1]
    return ""


def unsteady_killers(results: dict[str, dict]) -> set[str]:
    """The tests that killed a mutant and fail on the code unmutated too (run once, in a copy)."""
    killers = sorted({r["killer"] for r in results.values() if r.get("killer")})
    if not killers:
        return set()
    with tempfile.TemporaryDirectory() as scratch:
        copy = _copy_checkout(Path(scratch))
        args = copy / "killers.args"
        args.write_text("\n".join(killers))
        output = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", f"@{args}"], cwd=copy,
                                env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True).stdout
    return {_killer(line) for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))}


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def report(results: dict[str, dict]) -> None:
    by_package: dict[str, list[str]] = defaultdict(list)
    for name, result in results.items():
        if result["outcome"] == "equivalent":
            by_package["equivalent"].append("annotation")
        elif result["outcome"] in ("killed", "survived"):
            by_package[name.split("/")[1]].append(result["outcome"])
            by_package["all four"].append(result["outcome"])
    for name, result in sorted(results.items()):
        if result["outcome"] == "survived":
            print(f"--- survived: {name} ({result['why'] or str(result['tests']) + ' tests'})\n{result['diff']}")
    print(f"{'package':<12} {'mutants':>8} {'killed':>7} {'score':>7}  95% interval")
    print(f"left out as equivalent (annotations): {len(by_package.pop('equivalent', []))}; killed only by a test "
          f"that fails unmutated too: {sum(r['outcome'] == 'unsteady' for r in results.values())}; "
          f"incompetent: {sum(r['outcome'] == 'incompetent' for r in results.values())}")
    for package, outcomes in sorted(by_package.items()):
        killed, n = outcomes.count("killed"), len(outcomes)
        low, high = wilson(killed, n)
        print(f"{package:<12} {n:>8} {killed:>7} {killed / n:>7.1%}  {low:.1%}-{high:.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-coverage", type=Path, metavar="DIR", help="make the coverage run into DIR and stop")
    parser.add_argument("--coverage")
    parser.add_argument("--junit")
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--packages", default="service,commands,review,processing")
    parser.add_argument("--only", help="rerun these mutants (comma-separated names from the results)")
    options = parser.parse_args()
    if options.make_coverage:
        return make_coverage(options.make_coverage)
    if not (options.coverage and options.junit):
        parser.error("--coverage and --junit are needed (make them with --make-coverage)")

    everything = mutants(options.packages.split(","))
    sample = random.Random(options.seed).sample(everything, min(options.sample, len(everything)))
    print(f"{len(everything)} mutants in {options.packages}; running a sample of {len(sample)}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ".gitignore").write_text("*\n")
    store = RESULTS / f"sample-{options.seed}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    if options.only:
        for name in options.only.split(","):
            results.pop(name, None)
    by_line, by_module = tests_by_line(options.coverage)
    seconds = durations(options.junit)
    todo = [spec for spec in sample if key(spec) not in results]

    with tempfile.TemporaryDirectory() as scratch:
        copies = [str(_copy_checkout(Path(scratch) / f"copy{n}")) for n in range(options.jobs)]
        counter = multiprocessing.Value("i", 0)
        with ProcessPoolExecutor(options.jobs, initializer=_start_job, initargs=(copies, counter)) as pool:
            running = {pool.submit(run_one, spec, chosen_tests(spec, by_line, by_module, seconds)): spec
                       for spec in todo}
            for done, future in enumerate(as_completed(running), 1):
                spec = running[future]
                results[key(spec)] = future.result()
                store.write_text(json.dumps(results, indent=1))
                print(f"[{done}/{len(todo)}] {results[key(spec)]['outcome']:<11} {key(spec)}", flush=True)
    unsteady = unsteady_killers(results)
    for result in results.values():
        if result.get("killer") in unsteady:
            result.update(outcome="unsteady", why=f"{result['killer']} fails unmutated too")
    store.write_text(json.dumps(results, indent=1))
    report({name: result for name, result in results.items() if name in {key(s) for s in sample}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
