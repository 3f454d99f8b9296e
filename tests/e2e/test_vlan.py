"""End to end: VLAN trunk check with raw 802.1Q frames on the lab's tenant trunk, healthy and with VLANs
pruned on switch ports; the original check-vlan-interface; the leased link commands (expiry, crash)."""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest

from steth.probes.capabilities import vlan_8021q

from ..conftest import eventually, steth
from .conftest import LAB

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def run(lab, *args):
    return steth(*args, env=lab["env"])


def node_ns(node: str) -> str:
    return f"steth-{LAB}-{node}"


def storage_cidr(lab) -> ipaddress.IPv4Network:
    conf = open(lab["conf"]).read()
    return ipaddress.ip_network(conf.split("storage = ")[1].split()[0])


def addrs(node: str, ifname: str) -> set[str]:
    out = subprocess.run(
        ["ip", "-n", node_ns(node), "-j", "addr", "show", "dev", ifname], capture_output=True, text=True, check=True
    ).stdout
    return {f"{a['local']}/{a['prefixlen']}" for a in json.loads(out)[0]["addr_info"] if a.get("scope") == "global"}


class Faults:
    """Faults added in a test, removed in its finally."""

    def __init__(self, lab) -> None:
        self.lab, self.ids = lab, []

    def add(self, *args: str) -> str:
        r = run(self.lab, "lab", "fault", "add", "--name", LAB, *args)
        assert r.rc == 0, r.err
        fid = r.out.split(":")[0].strip()
        self.ids.append(fid)
        return fid

    def remove_all(self) -> None:
        for fid in reversed(self.ids):
            assert run(self.lab, "lab", "fault", "remove", "--name", LAB, fid).rc == 0


def test_healthy_lab_carries_vlans_100_199(lab):
    r = run(lab, "check", "vlan", "--vlans", "100-199", "-f", "json")
    assert r.rc == 0, r.err
    rows = r.json()
    assert len(rows) == 100 * 6  # 3 nodes: 6 directed pairs
    assert {x["verdict"] for x in rows} == {"ok"}
    assert {x["vlan"] for x in rows} == set(range(100, 200))
    assert {x["source_interface"] for x in rows} == {"eth1"}  # found through the tenant network's CIDR
    table = run(lab, "check", "vlan", "--vlans", "100-199")
    assert table.rc == 0 and "all 100 VLANs (100-199) carried between all 3 nodes" in table.out


def test_every_vlan_and_untagged_by_default(lab):
    r = run(lab, "check", "vlan", "--nodes", "compute-1,compute-2")
    assert r.rc == 0, r.out + r.err
    assert "all 4095 VLANs (untagged,1-4094) carried between all 2 nodes" in r.out


def test_pruned_vlans_are_named_for_exactly_those_nodes(lab):
    faults = Faults(lab)
    try:
        faults.add("vlan-prune", "--node", "compute-2", "--vlans", "105")
        faults.add("vlan-prune", "--node", "compute-1", "--vlans", "150-152")
        r = run(lab, "check", "vlan", "--vlans", "100-199", "-f", "json")
        assert r.rc == 1, r.err
        fails = {(x["vlan"], x["source"], x["destination"]) for x in r.json() if x["verdict"] != "ok"}
        assert fails == {
            (105, "network", "compute-2"),
            (105, "compute-1", "compute-2"),
            *((v, s, "compute-1") for v in (150, 151, 152) for s in ("network", "compute-2")),
        }
        table = run(lab, "check", "vlan", "--vlans", "100-199")
        assert table.rc == 1
        assert "VLAN 105 is not carried to compute-2 eth1 (compute-2 hears no peer on it)" in table.out
        assert "VLANs 150-152 are not carried to compute-1 eth1 (compute-1 hears no peer on it)" in table.out
        assert len(table.out.splitlines()) < 20  # compact: per pair, not per VLAN
        one = run(lab, "check-vlan-interface", "compute-1", "compute-2", "eth1", "105", "-f", "json")
        assert one.rc == 1
        assert {(x["source"], x["destination"], x["verdict"]) for x in one.json()} == {
            ("compute-1", "compute-2", "fail"),
            ("compute-2", "compute-1", "ok"),
        }
    finally:
        faults.remove_all()
    assert run(lab, "check", "vlan", "--vlans", "100-199").rc == 0  # faults gone: all carried again


def test_fault_kind_listed_and_bad_vlans_refused(lab):
    kinds = run(lab, "lab", "fault", "kinds", "-f", "value", "-c", "kind")
    assert kinds.rc == 0 and "vlan-prune" in kinds.out.split()
    bad = run(lab, "lab", "fault", "add", "--name", LAB, "vlan-prune", "--node", "compute-1", "--vlans", "5000")
    assert bad.rc == 2 and "out of range" in bad.err
    assert run(lab, "lab", "fault", "list", "--name", LAB, "-f", "json").json() == []


def test_check_vlan_interface_original_command(lab):
    r = run(lab, "check-vlan-interface", "compute-1", "compute-2", "eth1", "105", "-f", "json")
    assert r.rc == 0, r.err
    assert [(x["vlan"], x["source"], x["destination"], x["verdict"]) for x in r.json()] == [
        (105, "compute-1", "compute-2", "ok"),
        (105, "compute-2", "compute-1", "ok"),
    ]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["check", "vlan", "--vlans", "4095"], "out of range"),
        (["check", "vlan", "--vlans", "10-5"], "backwards"),
        (["check", "vlan", "--network", "nosuch"], "network 'nosuch' is not in [networks]"),
        (["check", "vlan", "--nodes", "compute-1"], "at least two nodes"),
        (["check-vlan-interface", "compute-1", "compute-1", "eth1", "5"], "same node"),
    ],
)
def test_check_vlan_bad_input(lab, args, needle):
    r = run(lab, *args)
    assert r.rc == 2 and needle in r.err, (r.rc, r.err)


def test_check_vlan_unreachable_agent_exit_3(lab):
    assert run(lab, "lab", "agent", "--name", LAB, "stop", "compute-2").rc == 0
    try:
        r = run(lab, "check", "vlan", "--vlans", "100-101", "--interface", "eth1", "-f", "json")
        assert r.rc == 3
        rows = r.json()
        assert {x["verdict"] for x in rows if "compute-2" in (x["source"], x["destination"])} == {"error"}
        assert {x["verdict"] for x in rows if "compute-2" not in (x["source"], x["destination"])} == {"ok"}
    finally:
        assert run(lab, "lab", "agent", "--name", LAB, "start", "compute-2").rc == 0


# ---- the leased link commands ------------------------------------------------------


def test_setup_link_adds_a_secondary_address_and_teardown_removes_it(lab):
    net = storage_cidr(lab)
    extra = f"{net.network_address + 200}/{net.prefixlen}"
    before = addrs("compute-1", "eth2")
    r = run(lab, "setup-link", "compute-1", "eth2", extra, "-f", "json")
    assert r.rc == 0, r.err
    assert r.json()["lease_id"] and addrs("compute-1", "eth2") == before | {extra}
    t = run(lab, "teardown-link", "compute-1", "eth2")
    assert t.rc == 0, t.err
    assert addrs("compute-1", "eth2") == before
    refused = run(lab, "teardown-link", "compute-1", "eth2")  # nothing of steth's on it: not deleted
    assert refused.rc == 2 and "--force" in refused.err and addrs("compute-1", "eth2") == before


def test_setup_link_flush_only_when_asked(lab):
    before = addrs("compute-1", "eth2")
    r = run(lab, "setup-link", "compute-1", "eth2", "192.0.2.10/24", "--flush", "-f", "json")
    assert r.rc == 0, r.err
    assert addrs("compute-1", "eth2") == {"192.0.2.10/24"}
    assert "restored when the lease ends" in r.json()["changes"]
    assert run(lab, "teardown-link", "compute-1", "eth2").rc == 0
    assert addrs("compute-1", "eth2") == before  # the flushed address is back


def test_setup_link_lease_expires(lab):
    before = addrs("compute-2", "eth2")
    r = run(lab, "setup-link", "compute-2", "eth2", "192.0.2.11/24", "--lease", "2")
    assert r.rc == 0, r.err
    assert "192.0.2.11/24" in addrs("compute-2", "eth2")
    eventually(lambda: addrs("compute-2", "eth2"), lambda a: a == before, timeout=15, what="lease expiry")


def test_setup_link_undone_when_the_agent_restarts_after_a_crash(lab):
    before = addrs("compute-1", "eth2")
    r = run(lab, "setup-link", "compute-1", "eth2", "192.0.2.12/24", "--lease", "600")
    assert r.rc == 0, r.err
    status = {x["node"]: x for x in run(lab, "lab", "status", "--name", LAB, "-f", "json").json()}
    pid = status["compute-1"]["agent_pid"]
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    assert b"steth-agent" in cmdline  # the recorded PID is our lab's agent
    subprocess.run(["kill", "-9", str(pid)], check=True)

    def state() -> str:
        rows = run(lab, "lab", "status", "--name", LAB, "-f", "json").json()
        return next(x["agent_state"] for x in rows if x["node"] == "compute-1")

    eventually(state, lambda s: s != "running", timeout=10, what="agent gone")
    assert "192.0.2.12/24" in addrs("compute-1", "eth2")  # the crash left it behind...
    assert run(lab, "lab", "agent", "--name", LAB, "start", "compute-1").rc == 0
    assert addrs("compute-1", "eth2") == before  # ...and the new agent undid it before serving


def test_add_vlan_to_interface_says_no_8021q(lab):
    ok, why = vlan_8021q()
    if ok:
        pytest.skip(f"this kernel has 8021q ({why}): the integration test covers the success path")
    r = run(lab, "add-vlan-to-interface", "compute-1", "eth1", "105")
    assert r.rc != 0
    assert "8021q" in r.err and "check vlan" in r.err
    assert (
        "eth1.105"
        not in subprocess.run(["ip", "-n", node_ns("compute-1"), "link"], capture_output=True, text=True).stdout
    )
