#!/bin/sh
# Quick start, step 1: make .venv with the newest supported Python (3.13, 3.12 or 3.11; PYTHON= wins)
# and install b2b-soap when needed, then create (or reuse) the demo LA in ./demo-data and serve it on
# http://127.0.0.1:8080 until Ctrl-C.
# Arguments go to `b2b-soap demo`, e.g. `sh run-demo.sh --port 8081 --persons 250000`.
# `sh run-demo.sh --setup-only` only prepares the venv (run-tests.sh uses it). VENV=DIR picks another
# venv folder (CI keeps one per Python).
set -eu
cd "$(dirname "$0")"
venv=${VENV:-.venv}

supported() {
    "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null
}

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    echo "run-demo.sh: Python 3.11, 3.12 or 3.13 is needed (none found; set PYTHON=/path/to/python3)" >&2
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    python=$(find_python)
    echo "creating $venv with $python" >&2
    "$python" -m venv "$venv"
fi

# Reinstall only when pyproject.toml changed since the last install (or the install is missing).
stamp=$venv/.b2b-soap-installed
if [ ! -f "$stamp" ] || [ ! -x "$venv/bin/b2b-soap" ] || [ -n "$(find pyproject.toml -newer "$stamp")" ]; then
    echo "installing b2b-soap and its test tools into $venv (first run takes a minute)" >&2
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check -e '.[test]' >"$venv/pip-install.log" 2>&1; then
        cat "$venv/pip-install.log" >&2
        echo "run-demo.sh: installing failed (log above, also in $venv/pip-install.log)" >&2
        exit 1
    fi
    touch "$stamp"
fi

if [ "${1:-}" = "--setup-only" ]; then
    exit 0
fi
exec "$venv/bin/b2b-soap" demo --data-dir ./demo-data "$@"
