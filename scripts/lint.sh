#!/usr/bin/env bash
# The guard rails: ruff (lint and format), mypy (strict where the design says), import-linter
# (the architecture's layering). Each failure stops the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "lint: ruff clean" >&2
# strict ([tool.mypy] strict = true) on wire/ (the agent-controller contract), the checks and doctor
.venv/bin/mypy src/steth/wire src/steth/controller/checks src/steth/controller/doctor src/steth/controller/commands/doctor.py
echo "lint: mypy --strict clean on wire/, controller/checks/, controller/doctor/" >&2
# the architecture's rules ([tool.importlinter] in pyproject.toml)
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
echo "lint: import contracts kept" >&2
