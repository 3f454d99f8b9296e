"""One lab for the whole e2e session: built once, removed at the end even when tests fail."""

from __future__ import annotations

import os
import subprocess

import pytest

from ..conftest import IS_ROOT, steth

# STETH_E2E_LAB renames the session's labs (e.g. `ve2e`), so two test runs on one machine never share
# namespaces; the default keeps the usual names.
LAB = os.environ.get("STETH_E2E_LAB", "e2e")
FAILED_LAB = "t2" if LAB == "e2e" else f"{LAB}t2"[:8]
DEMO_LAB = "demo" if LAB == "e2e" else f"{LAB}d"[:8]


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
