#!/usr/bin/env bash
# The guard rails: ruff (lint and format), mypy (strict where the design says), import-linter
# (the architecture's layering). Each failure stops the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "lint: ruff clean" >&2
.venv/bin/mypy src/steth/controller/doctor src/steth/controller/commands/doctor.py src/steth/wire/verdict.py
echo "lint: mypy --strict clean on controller/doctor (and the doctor command, wire/verdict.py)" >&2
