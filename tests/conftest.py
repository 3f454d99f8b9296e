"""Shared test helpers: root detection and running the real `steth` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

BIN = os.path.dirname(sys.executable)
STETH = os.path.join(BIN, "steth")
IS_ROOT = os.geteuid() == 0

requires_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (network namespaces)")


@dataclass
class Result:
    rc: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def steth(*args: str, env: dict | None = None, timeout: float = 120) -> Result:
    """Run the installed `steth` CLI; the timeout only guards against a hang."""
    proc = subprocess.run(
        [STETH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def eventually(fetch, check, timeout: float = 5.0, what: str = "condition"):
    """Poll ``fetch()`` until ``check(value)`` holds (asynchronous kernel/OVSDB state); a bounded wait,
    never a timing assertion. Returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g} s; last value: {value!r}")
        time.sleep(0.05)


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config, items):
    """Run the tiers in order, unit first, then integration, then e2e (which builds labs): a broken build
    fails in seconds. Within a tier the collection order is kept (pytest's sort is stable); e2e tests on
    the Neutron lab run after the others, so the underlay lab and the Neutron lab are not both busy
    building at the start."""

    def rank(item) -> tuple[int, int]:
        parts = item.nodeid.split("/")
        tier = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
        neutron = 1 if item.get_closest_marker("neutron") is not None else 0
        # the DVR lab (a second full Neutron, ~3 min to build) comes after every test of the session's
        # Neutron lab: it is not built beside it while that lab's faults are being timed
        neutron += 1 if "dvr_lab" in getattr(item, "fixturenames", ()) else 0
        return (TIERS.index(tier) if tier in TIERS else len(TIERS), neutron)

    items.sort(key=rank)
