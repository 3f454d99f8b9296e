"""deploy/prometheus: the alert rules pass `promtool check rules` and their unit tests (`promtool test rules`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: `bash scripts/setup.sh` installs prometheus"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PROMTOOL or "promtool", *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def test_rules_are_valid():
    done = promtool("check", "rules", "steth-rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_rule_unit_tests_pass():
    done = promtool("test", "rules", "steth-rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_example_scrape_config_is_valid():
    done = promtool("check", "config", "--syntax-only", "prometheus.example.yml")  # its files are examples
    assert done.returncode == 0, done.stdout + done.stderr
