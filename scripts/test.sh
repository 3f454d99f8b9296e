#!/usr/bin/env bash
# Set everything up and run the whole test suite (unit, integration, end-to-end).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# guard rails first: a broken build fails in seconds, before any lab is built
bash scripts/lint.sh
exec .venv/bin/python -m pytest -ra --durations=30 "$@"  # the slowest 30: where the suite's time goes
