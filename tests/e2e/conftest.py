"""One lab for the whole e2e session: built once, removed at the end even when tests fail."""

from __future__ import annotations

import os
import subprocess

import pytest

from ..conftest import IS_ROOT, steth

# STETH_E2E_LAB renames the session's labs (e.g. `ve2e`), so two test runs on one machine never share
# namespaces; the default keeps the usual names.
LAB = os.environ.get("STETH_E2E_LAB", "e2e")


def _companion(default: str, letter: str, avoid: set[str]) -> str:
    """A lab name for a test's own lab: the usual one by default; with STETH_E2E_LAB, one whose address
    ranges (chosen by name, 16 possibilities) differ from the session lab's and from those in ``avoid``."""
    if LAB == "e2e":
        return default
    from steth.lab.topology import default_cidrs

    taken = {default_cidrs(LAB)[0], *(default_cidrs(n)[0] for n in avoid)}
    for i in range(100):
        name = f"{LAB[:5]}{letter}{i}"
        if default_cidrs(name)[0] not in taken:
            return name
    return f"{LAB[:6]}{letter}"


FAILED_LAB = _companion("t2", "t", set())
DEMO_LAB = _companion("demo", "d", {FAILED_LAB})


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("labroot"))


@pytest.fixture(scope="session")
def lab(lab_root):
    if not IS_ROOT:
        pytest.skip("needs root (network namespaces)")
    env = {"STETH_LAB_ROOT": lab_root}
    up = steth("lab", "up", "--name", LAB, "--computes", "2", env=env)
    try:
        assert up.rc == 0, up.err
        conf = f"{lab_root}/lab-{LAB}/steth.conf"
        yield {"env": {**env, "STETH_CONFIG": conf}, "conf": conf, "root": lab_root}
    finally:
        down = steth("lab", "down", "--name", LAB, env=env)
        assert down.rc == 0, down.err
        assert not {ns for ns in namespaces() if ns.startswith(f"steth-{LAB}-")}
