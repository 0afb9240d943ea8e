#!/bin/sh
# Quick start, step 2: prepare the venv as run-demo.sh does, then run the whole test suite.
# Arguments go to pytest, e.g. `sh run-tests.sh -x tests/test_cli_setup.py`.
# PostgreSQL cases run when B2B_SOAP_TEST_DATABASE_URL names a server (see README.md).
set -eu
cd "$(dirname "$0")"
sh ./run-demo.sh --setup-only
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
