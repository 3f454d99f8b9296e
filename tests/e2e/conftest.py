"""One lab for the whole e2e session: built once, removed at the end even when tests fail."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from steth.lab.neutron.record import NeutronRecord

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


# STETH_E2E_NEUTRON_LAB renames the Neutron lab (default ne2e), e.g. when another run uses ne2e
NEUTRON_LAB = os.environ.get("STETH_E2E_NEUTRON_LAB", "ne2e")
NEUTRON_PACKAGES = (
    "/usr/bin/neutron-server",
    "/usr/bin/neutron-openvswitch-agent",
    "/usr/bin/neutron-dhcp-agent",
    "/usr/bin/neutron-l3-agent",
    "/usr/sbin/conntrack",
    "/usr/sbin/dnsmasq",
    "/usr/sbin/mariadbd",
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "/usr/bin/socat",
    "/usr/bin/busybox",
)


def lab_processes(directory: str) -> list[int]:
    """PIDs whose command line names ``directory`` (what a Neutron lab may leave behind)."""
    from steth.host.proc import pids_naming

    return pids_naming(directory)


@pytest.fixture(scope="session")
def neutron_lab(tmp_path_factory):
    """One real Neutron lab (2 computes, a VLAN and a VXLAN network, 4 VMs, a router to an "internet"
    namespace, a floating IP on vm1) for the whole session.

    Skipped without root or without the Neutron packages (`bash scripts/setup.sh` installs them);
    STETH_E2E_NEUTRON=0 skips it on purpose (it takes about 1-2 minutes and ~1.5 GB of memory).
    """
    if not IS_ROOT:
        pytest.skip("needs root (network namespaces)")
    if os.environ.get("STETH_E2E_NEUTRON", "1") == "0":
        pytest.skip("STETH_E2E_NEUTRON=0")
    missing = [p for p in NEUTRON_PACKAGES if not os.path.exists(p)]
    if missing:
        pytest.skip(f"Neutron lab packages missing ({', '.join(missing)}): run `bash scripts/setup.sh`")
    root = str(tmp_path_factory.mktemp("neutronroot"))
    env = {"STETH_LAB_ROOT": root}
    directory = f"{root}/lab-{NEUTRON_LAB}"
    up = steth("lab", "up", "--name", NEUTRON_LAB, "--computes", "2", "--neutron", env=env, timeout=400)
    try:
        assert up.rc == 0, up.err + up.out
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        record = NeutronRecord.from_json(state["extra"]["neutron"])
        yield {
            "env": {
                **env,
                # the one export: the lab's steth.conf names its cloud ([openstack]), no OS_* needed
                "STETH_CONFIG": f"{directory}/steth.conf",
            },
            "root": root,
            "dir": directory,
            "state": state,
            "record": record,  # typed: record.vm("vm1"), record.router, record.floating_ips["vm1"], ...
            "up_out": up.out,
            "name": NEUTRON_LAB,
        }
    finally:
        for crash in ovs_crashes(directory):
            warnings.warn(f"ML2/OVS lab: {crash}", stacklevel=1)
        down = steth("lab", "down", "--name", NEUTRON_LAB, env=env, timeout=180)
        assert down.rc == 0, down.err
        left = {ns for ns in namespaces() if ns.startswith(f"steth-{NEUTRON_LAB}-")}
        assert not left, left
        built = locals().get("record")
        if built is not None:
            left = set(namespaces())
            assert not {f"qdhcp-{n}" for n in built.networks.values()} & left
            assert built.router is None or f"qrouter-{built.router.id}" not in left
        assert not lab_processes(directory), "processes of the Neutron lab survived `lab down`"


def ovs_crashes(directory: str) -> list[str]:
    """What the lab's OVS monitors logged of a crashed ovs-vswitchd they restarted, and its last words
    (e.g. Debian 12's 3.1.0 conntrack assertion): shown as warnings, since a test that failed in that
    moment failed because the node's switch was restarting."""
    found = []
    for log in sorted(glob.glob(f"{directory}/*/ovs-vswitchd.log")):
        node = os.path.basename(os.path.dirname(log))
        with open(log, errors="replace") as fh:
            for line in fh:
                if "|EMER|" in line or "crashes: pid" in line:
                    found.append(f"{node}: {line.strip()}")
    return found


@dataclass(frozen=True)
class LabKind:
    """A Neutron lab of one backend, built for one test module (once per run, down before the next)."""

    what: str  # for messages: "ML2/OVN"
    name: str  # the lab's name (an environment variable renames it)
    switch: str  # STETH_E2E_<X>=0 skips it on purpose
    packages: tuple[str, ...]
    up_args: tuple[str, ...]
    timeout: int


def module_lab(tmp_path_factory: pytest.TempPathFactory, kind: LabKind) -> Iterator[dict]:
    """Build ``kind``'s lab, yield what tests need, then take it down and check nothing of it is left:
    no lab namespace, no Neutron namespace (qdhcp-, qrouter-, snat-) of its networks and router, no
    process naming its directory. Skipped without root or the packages (`bash scripts/setup.sh`)."""
    if not IS_ROOT:
        pytest.skip("needs root (network and mount namespaces)")
    if os.environ.get(kind.switch, "1") == "0":
        pytest.skip(f"{kind.switch}=0")
    missing = [p for p in kind.packages if not os.path.exists(p)]
    if missing:
        pytest.skip(f"{kind.what} lab packages missing ({', '.join(missing)}): run `bash scripts/setup.sh`")
    root = str(tmp_path_factory.mktemp(f"{kind.name}root"))
    env = {"STETH_LAB_ROOT": root}
    directory = f"{root}/lab-{kind.name}"
    up = steth("lab", "up", "--name", kind.name, "--computes", "2", *kind.up_args, env=env, timeout=kind.timeout)
    state: dict = {}
    try:
        assert up.rc == 0, up.err + up.out
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        made = state.get("extra", {}).get("neutron")
        yield {
            "env": {
                **env,
                "STETH_CONFIG": f"{directory}/steth.conf",
                "OS_CLIENT_CONFIG_FILE": f"{directory}/clouds.yaml",
                "OS_CLOUD": f"steth-{kind.name}",
            },
            "root": root,
            "dir": directory,
            "state": state,
            "record": NeutronRecord.from_json(made) if made else None,
            "up_out": up.out,
            "name": kind.name,
        }
    finally:
        for crash in ovs_crashes(directory):
            warnings.warn(f"{kind.what} lab: {crash}", stacklevel=1)
        down = steth("lab", "down", "--name", kind.name, env=env, timeout=180)
        assert down.rc == 0, down.err
        left = {ns for ns in namespaces() if ns.startswith(f"steth-{kind.name}-")}
        assert not left, left
        made = state.get("extra", {}).get("neutron") or {}
        agents_ns = {f"qdhcp-{n}" for n in made.get("networks", {}).values()}
        if made.get("router"):
            agents_ns |= {f"qrouter-{made['router']['id']}", f"snat-{made['router']['id']}"}
        assert not agents_ns & namespaces(), agents_ns & namespaces()
        assert not lab_processes(directory), f"processes of the {kind.what} lab survived `lab down`"


# STETH_E2E_OVN_LAB, _DVR_LAB, _LB_LAB rename the labs (defaults oe2e, de2e, le2e)
OVN = LabKind(
    "ML2/OVN",
    os.environ.get("STETH_E2E_OVN_LAB", "oe2e"),
    "STETH_E2E_OVN",
    ("/usr/bin/neutron-server", "/usr/bin/ovn-northd", "/usr/bin/ovn-controller", "/usr/bin/ovn-nbctl",
     "/usr/sbin/mariadbd", "/usr/bin/busybox"),
    ("--neutron", "--backend", "ovn"),
    400,
)  # fmt: skip
DVR = LabKind(
    "DVR", os.environ.get("STETH_E2E_DVR_LAB", "de2e"), "STETH_E2E_DVR", NEUTRON_PACKAGES, ("--neutron", "--dvr"), 500
)
LB = LabKind(
    "ML2/Linux bridge",
    os.environ.get("STETH_E2E_LB_LAB", "le2e"),
    "STETH_E2E_LB",
    ("/usr/bin/neutron-server", "/usr/bin/neutron-linuxbridge-agent", "/usr/bin/neutron-dhcp-agent",
     "/usr/bin/neutron-l3-agent", "/usr/sbin/mariadbd", "/usr/bin/busybox"),
    ("--neutron", "--backend", "linuxbridge"),
    600,
)  # fmt: skip
OVN_LAB, DVR_LAB, LB_LAB = OVN.name, DVR.name, LB.name


@pytest.fixture(scope="module")  # only test_ovn.py uses it
def ovn_lab(tmp_path_factory):
    """NB and SB as 3-member Raft clusters, ovn-northd, ovn-controller on 3 chassis, a Geneve and a VLAN
    network with OVN DHCP, 4 VMs, a router with SNAT on the network node, a floating IP on vm1."""
    yield from module_lab(tmp_path_factory, OVN)


@pytest.fixture(scope="module")  # only test_dvr.py uses it
def dvr_lab(tmp_path_factory):
    """L3 agents in dvr mode on 2 compute nodes, dvr_snat on the network node, a distributed router, a
    floating IP on vm1 served by compute-1's fip- namespace."""
    yield from module_lab(tmp_path_factory, DVR)


@pytest.fixture(scope="module")  # only test_linuxbridge.py uses it
def lb_lab(tmp_path_factory):
    """Linuxbridge agents with kernel VXLAN and l2population, iptables security groups, DHCP and L3 agents
    on the network node, two VXLAN networks, 4 VMs, a router with SNAT, a floating IP on vm1."""
    yield from module_lab(tmp_path_factory, LB)
