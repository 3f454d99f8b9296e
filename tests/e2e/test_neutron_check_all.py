"""End to end: `steth check all` on the Neutron lab: Neutron agent health, OVS bridges as each OVS agent's
configuration expects them, VLANs from Neutron's network_vlan_ranges, nodes discovered without [nodes]."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.neutron]

# only the management network: the Neutron steps are what these tests are about, and a mesh on one
# network keeps each run at about two seconds
QUICK = ("check", "all", "--quick", "--network", "management", "-f", "json")


def run(lab, *args, env=None):
    return steth(*args, env={**lab["env"], **(env or {})}, timeout=120)


def rows_of(r):
    return {x["check"]: x for x in r.json()}


def agent_pid(lab, node: str) -> int:
    """The lab's OVS agent of ``node`` (checked to be that process before any signal is sent)."""
    pid = lab["state"]["extra"]["neutron"]["procs"][f"ovs-agent-{node}"]["pid"]
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        cmdline = fh.read()
    assert b"neutron-openvswitch-agent" in cmdline and f"host-{node}.conf".encode() in cmdline, cmdline
    return pid


def config_without(lab, tmp_path, sections: set[str], extra: str = "") -> str:
    """The lab's controller config without some sections, plus ``extra``."""
    text = open(lab["env"]["STETH_CONFIG"], encoding="utf-8").read()
    kept, skip = [], False
    for line in text.splitlines():
        m = re.match(r"^\[(.+)\]\s*$", line)
        if m:
            skip = m.group(1) in sections
        if not skip:
            kept.append(line)
    path = tmp_path / "steth.conf"
    path.write_text("\n".join(kept) + "\n" + extra)
    return str(path)


def test_healthy_neutron_lab_agents_and_bridges_ok(neutron_lab, tmp_path):
    page = tmp_path / "all.html"
    r = run(neutron_lab, "check", "all", "--quick", "-f", "json", "--html", str(page))
    assert r.rc == 0, r.out + r.err
    rows = rows_of(r)
    assert list(rows)[:3] == ["agents", "neutron-agents", "ovs-bridges"]
    assert rows["neutron-agents"]["verdict"] == "ok"
    # an OVS agent per node, the DHCP and the L3 agent on the network node
    assert rows["neutron-agents"]["detail"] == "all 5 Neutron agents on 3 hosts alive and admin-up"
    assert rows["ovs-bridges"]["verdict"] == "ok" and rows["ovs-bridges"]["scope"] == "3 OVS agents"
    assert rows["vlan"]["verdict"] == "ok"
    text = page.read_text()
    # every check's row with its verdict in words (report/check_all.py's "All checks" table)
    for check in ("neutron-agents", "ovs-bridges"):
        assert re.search(rf"<tr class='ok'><td>{check}</td><td>[^<]*</td><td><span class='v ok'>ok</span>", text), check
    # the report lists what was verified per node: the NIC of physnet1 and where the tunnel address is
    assert re.search(r"compute-1: br-int, NICs physnet1:br-tenant:eth1, tunneling_ip [0-9.]+ on br-tenant", text)


def test_nic_removed_from_provider_bridge_names_node_bridge_physnet(neutron_lab):
    vsctl = ["ovs-vsctl", f"--db=unix:{neutron_lab['dir']}/compute-1/db.sock", "--timeout=10"]
    subprocess.run([*vsctl, "del-port", "br-tenant", "eth1"], check=True)
    try:
        r = run(neutron_lab, *QUICK)
        assert r.rc == 1, r.out + r.err
        rows = rows_of(r)
        assert rows["ovs-bridges"]["verdict"] == "fail"
        assert (
            rows["ovs-bridges"]["detail"]
            == "compute-1: bridge br-tenant has no NIC: physnet physnet1 is left without a NIC"
        )
        assert "ovs-bridges: compute-1: bridge br-tenant has no NIC" in r.err
        assert "compute-2" not in r.err and "network:" not in r.err
        assert {k for k, x in rows.items() if x["verdict"] not in ("ok", "skipped")} == {"ovs-bridges"}
    finally:
        subprocess.run([*vsctl, "--may-exist", "add-port", "br-tenant", "eth1"], check=True)
    assert rows_of(run(neutron_lab, *QUICK))["ovs-bridges"]["verdict"] == "ok"


def test_frozen_ovs_agent_is_named_dead(neutron_lab):
    pid = agent_pid(neutron_lab, "compute-2")
    os.kill(pid, signal.SIGSTOP)
    try:
        # Neutron marks an agent dead agent_down_time (11 s in the lab) after its last report
        r = eventually(
            lambda: run(neutron_lab, *QUICK),
            lambda r: rows_of(r)["neutron-agents"]["verdict"] == "fail",
            timeout=90,
            what="compute-2's Open vSwitch agent reported dead by check all",
        )
        assert r.rc == 1
        detail = rows_of(r)["neutron-agents"]["detail"]
        assert re.fullmatch(
            r"Open vSwitch agent \(neutron-openvswitch-agent\) on compute-2 is dead, "
            r"last heartbeat \d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d UTC",
            detail,
        ), detail
        assert "compute-1" not in r.err and "on network" not in r.err
    finally:
        os.kill(pid, signal.SIGCONT)
    # leave the lab healthy for the next tests
    eventually(lambda: run(neutron_lab, *QUICK), lambda r: r.rc == 0, timeout=90, what="the agent alive again")


def test_vlans_from_neutron_network_vlan_ranges(neutron_lab, tmp_path):
    conf = config_without(
        neutron_lab,
        tmp_path,
        {"vlans", "bandwidth"},
        "[neutron]\nnetwork_vlan_ranges = physnet1:100:199\nphysnet_networks = physnet1:tenant\n",
    )
    r = run(neutron_lab, "--config-file", conf, "check", "all", "--quick", "-f", "json")
    assert r.rc == 0, r.out + r.err
    vlan = rows_of(r)["vlan"]
    assert vlan["verdict"] == "ok"
    assert vlan["scope"] == "tenant: 100-199 (from physnet1 (network_vlan_ranges))"


def test_nodes_discovered_from_neutron_agents_without_nodes(neutron_lab, tmp_path):
    conf = config_without(neutron_lab, tmp_path, {"nodes"})
    conf_text = open(conf).read().replace("request_timeout = 5", "request_timeout = 1")
    open(conf, "w").write(conf_text)
    agents = run(neutron_lab, "neutron", "agent", "list", "-f", "json").json()
    tunnel = {a["host"]: a["tunnel_ip"] for a in agents if a["binary"] == "neutron-openvswitch-agent"}
    r = run(neutron_lab, "--config-file", conf, *QUICK)
    rows = rows_of(r)
    assert rows["discovery"]["verdict"] == "ok", rows["discovery"]
    assert rows["discovery"]["scope"] == "3 nodes from Neutron (discovery_address {tunneling_ip})"
    assert rows["discovery"]["detail"] == "nodes from Neutron's agents: " + ", ".join(
        f"{h} at {tunnel[h]}:9698" for h in ("compute-1", "compute-2", "network")
    )
    # the lab's agents listen on their management address only, which Neutron does not know: the tunnel
    # addresses do not answer from here, and check all says so with exit status 3
    assert r.rc == 3 and rows["agents"]["verdict"] == "error"
    # without a cloud there is nothing to discover from
    (tmp_path / "no-cloud").mkdir()
    bare = config_without(neutron_lab, tmp_path / "no-cloud", {"nodes", "openstack"})
    no_cloud = steth("--config-file", bare, *QUICK, env={"STETH_LAB_ROOT": neutron_lab["root"], "OS_CLOUD": ""})
    assert no_cloud.rc == 2 and "lists no [nodes]" in no_cloud.err
