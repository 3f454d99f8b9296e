#!/usr/bin/env bash
# The guard rails: ruff (lint and format), mypy (strict where the design says), import-linter
# (the architecture's layering). Each failure stops the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy --strict src/steth/wire  # wire/: the contract between agent and controller
echo "lint: ruff clean" >&2
