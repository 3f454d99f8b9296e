"""One lab for the whole e2e session: built once, removed at the end even when tests fail."""

from __future__ import annotations

import subprocess

import pytest

from ..conftest import IS_ROOT, steth

LAB = "ce2e"  # lab names of this branch start with "c": parallel worktrees never clash


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
