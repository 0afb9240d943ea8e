#!/bin/sh
# Mutation score (cosmic-ray) of b2b-soap code against the tests that cover it. Too slow for CI:
# every mutant runs the given tests once.
#
#   sh bench/mutation.sh TARGET [PYTEST ARGUMENTS...]
#
# TARGET is a module or package path, e.g. b2b_soap/review/conflicts.py; the pytest arguments
# choose the tests (default: all of tests/, which takes hours; a -k expression must be one
# word). Examples:
#   sh bench/mutation.sh b2b_soap/commands/download.py tests/test_service_operations.py -k download
#   sh bench/mutation.sh b2b_soap/review/conflicts.py tests/test_review_functions.py -k sqlite
# Every mutant of the four main packages (about 6,000) is days of work on 2 cores: bench/mutation_sample.py
# runs a seeded sample of them, each against only the tests that reach it, and gives the score's interval.
#
# It works on a copy of the checkout (the working tree is never left mutated), keeps the session in
# bench/mutation-results/<target>.sqlite (run again to resume) and prints the survivors and the score.
# Needs cosmic-ray: .venv/bin/pip install -e '.[bench]' (or just 'cosmic-ray>=8.7,<9').
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
target=$1
shift
root=$(pwd)
python="$root/.venv/bin/python"
[ -x "$root/.venv/bin/cosmic-ray" ] || { echo "cosmic-ray is missing: .venv/bin/pip install -e '.[bench]'" >&2; exit 2; }
results="$root/bench/mutation-results"
mkdir -p "$results"
[ -f "$results/.gitignore" ] || echo "*" > "$results/.gitignore"
session="$results/$(echo "$target" | tr '/.' '__').sqlite"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp -r b2b_soap tests setup.cfg pyproject.toml "$work/"
tests=${*:-tests}
cat > "$work/cosmic-ray.toml" <<TOML
[cosmic-ray]
module-path = "$target"
timeout = 300.0
excluded-modules = []
test-command = "$python -m pytest -x -q -p no:cacheprovider $tests"

[cosmic-ray.distributor]
name = "local"
TOML
cd "$work"
export PYTHONPATH="$work"  # the copy, not the editable install, is imported and mutated
[ -f "$session" ] || "$root/.venv/bin/cosmic-ray" init cosmic-ray.toml "$session"
"$root/.venv/bin/cosmic-ray" exec cosmic-ray.toml "$session"
"$root/.venv/bin/cr-report" "$session" --surviving-only --show-diff
