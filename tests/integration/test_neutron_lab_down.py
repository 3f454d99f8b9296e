"""The Neutron lab's teardown stops recorded processes and the ones its agents started (found by the
lab directory in their command line), and nothing else; a failed preflight leaves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from steth.errors import LabError
from steth.host import proc
from steth.lab import neutron
from steth.lab.neutron import services
from steth.lab.neutron.ml2ovs import config
from steth.lab.neutron.record import NeutronRecord
from steth.lab.state import LabState

from .conftest import skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def test_down_stops_recorded_and_stray_processes_only(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    state = LabState(lab="ndown", computes=1, cidrs=("10.250.0.0/16", "10.251.0.0/16", "10.252.0.0/16"))
    state.save()
    ndir = os.path.join(state.directory, "neutron")
    os.makedirs(ndir)
    sleeper = [sys.executable, "-c", "import time, sys; time.sleep(60)"]
    recorded = proc.spawn([*sleeper, "recorded"])
    # a helper an agent started (not recorded by us): names the lab's neutron directory
    stray = subprocess.Popen([*sleeper, f"--config-file={ndir}/etc/agent-common.conf"], start_new_session=True)
    # someone else's process naming a similar but different directory: must survive
    other = subprocess.Popen([*sleeper, f"{state.directory}2/neutron/etc/x.conf"], start_new_session=True)
    try:
        rec = NeutronRecord(dir=ndir, ports=services.ports_for(state.lab), procs={"neutron-server": recorded})
        rec.save(state)
        assert neutron.down(state) == []
        for _ in range(50):
            stray.poll()
            if not alive(recorded.pid) and stray.returncode is not None:
                break
            time.sleep(0.1)
        assert not alive(recorded.pid)
        assert stray.returncode is not None
        assert other.poll() is None
    finally:
        for p in (stray, other):
            if p.poll() is None:
                p.kill()
                p.wait()
        proc.terminate(recorded)


def test_preflight_names_missing_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    monkeypatch.setattr(services, "NEUTRON_PATH", str(tmp_path / "empty-bin"))
    state = LabState(lab="npre", computes=1, cidrs=("10.250.0.0/16", "10.251.0.0/16", "10.252.0.0/16"))
    rec = NeutronRecord(dir=services.neutron_dir(state), ports=services.ports_for(state.lab))
    with pytest.raises(LabError) as err:
        services.Services(state, rec).preflight(config.BINARIES)
    assert "neutron-server" in str(err.value) and "scripts/setup.sh" in str(err.value)
