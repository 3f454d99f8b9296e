"""End to end on the ML2/OVN lab: a healthy lab passes `ovn status` and `ovn sync-check`; each OVN fault is
named by them with its evidence, and removing it heals the lab.

One ML2/OVN lab for the session (the ``ovn_lab`` fixture). Waits are bounded polls (``eventually``).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.ovn]


def status(lab, *extra: str):
    r = steth("ovn", "status", "-f", "json", *extra, env=lab["env"], timeout=120)
    assert r.rc in (0, 1), r.err + r.out
    return r.rc, json.loads(r.out)


def sync(lab, *extra: str):
    r = steth("ovn", "sync-check", "-f", "json", *extra, env=lab["env"], timeout=120)
    assert r.rc in (0, 1), r.err + r.out
    return r.rc, json.loads(r.out), r.err


def add_fault(lab, *args) -> str:
    r = steth("lab", "fault", "add", *args, "--name", lab["name"], env=lab["env"], timeout=90)
    assert r.rc == 0, r.err + r.out
    return r.out.strip().split(": ", 1)[0]


def remove_fault(lab, fid: str) -> None:
    r = steth("lab", "fault", "remove", fid, "--name", lab["name"], env=lab["env"], timeout=120)
    assert r.rc == 0, r.err + r.out


def vm(lab, name: str) -> dict:
    return next(v for v in lab["state"]["extra"]["neutron"]["vms"] if v["name"] == name)


def ping(netns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address]).returncode == 0


def test_lab_is_ml2_ovn_with_leases_and_router(ovn_lab):
    rec = ovn_lab["state"]["extra"]["neutron"]
    assert rec["backend"] == "ml2ovn"
    assert {m["name"] for m in rec["ovn"]["nb"]} == {"ovn-nb-1", "ovn-nb-2", "ovn-nb-3"}
    assert set(rec["networks"]) == {"vlan", "geneve"}
    assert len(rec["vms"]) == 4
    for v in rec["vms"]:
        assert v["lease_ip"] == v["fixed_ip"], v  # OVN's DHCP gave each VM its Neutron address
        assert v["router"], v
    assert "vm1" in rec["floating_ips"]
    with open(ovn_lab["env"]["STETH_CONFIG"]) as fh:
        assert "[ovn]" in fh.read()


def test_healthy_status(ovn_lab):
    rc, rows = status(ovn_lab)
    assert rc == 0, [r for r in rows if r["verdict"] != "ok"]
    by_check: dict[str, list] = {}
    for r in rows:
        by_check.setdefault(r["check"], []).append(r)
    assert len(by_check["cluster-nb"]) == 4 and len(by_check["cluster-sb"]) == 4  # 3 members + the cluster
    assert any("leader" in r["evidence"] and r["subject"] == "cluster" for r in by_check["cluster-sb"])
    assert {r["subject"] for r in by_check["chassis"]} == {"network", "compute-1", "compute-2"}
    assert "gateway" in next(r["evidence"] for r in by_check["chassis"] if r["subject"] == "network")
    assert len(by_check["gateway"]) == 1 and "bound to network" in by_check["gateway"][0]["evidence"]
    assert (
        by_check["northd"][0]["verdict"] == "ok" and "holds the lock 'ovn_northd'" in by_check["northd"][0]["evidence"]
    )
    assert by_check["neutron"][0]["verdict"] == "ok"


def test_healthy_sync_check(ovn_lab):
    rc, rows, err = sync(ovn_lab)
    assert rc == 0 and rows == [], rows
    # 4 VMs, 2 router interfaces, the gateway port, the FIP port, a metadata port (network:distributed) on
    # each of the 3 networks (Neutron makes one per network, the external one too)
    assert "0 drift(s) in 11 ports" in err
    assert "OVS of compute-1, compute-2, network read through their agents" in err


def test_northd_stopped_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-northd-stopped")  # frozen (SIGSTOP): over its unix socket it keeps its lock
    try:
        # a hung northd still holds its lock: it shows once NB_Global.nb_cfg moves and SB does not follow.
        # `ovn status` asks Neutron's agents, and Neutron bumps nb_cfg at most every agent_down_time/2 s
        # (ping_all_chassis): right after the previous test's status nothing moves yet. Asked again, it does.
        rc, rows = eventually(lambda: status(ovn_lab), lambda r: r[0] == 1, timeout=30, what="northd named")
        assert rc == 1
        northd = next(r for r in rows if r["check"] == "northd")
        assert northd["verdict"] == "fail" and "no ovn-northd is translating" in northd["evidence"], northd
        assert all(r["verdict"] == "ok" for r in rows if r["check"].startswith("cluster-"))
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: status(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="ovn status healthy again")


def test_paused_northd_is_named_by_its_lock_at_once(ovn_lab):
    """Not a lab fault: the test pauses ovn-northd itself (`ovn-appctl pause`, as an operator might, or as
    every standby is): it drops its SB lock. Nothing changes in NB, and Neutron is not asked, so no nb_cfg
    drift can show: the SB leader granting steth the lock is the proof, in one run."""
    ctl = ovn_lab["state"]["extra"]["neutron"]["ovn"]["northd_ctl"]
    subprocess.run(["ovn-appctl", "-t", ctl, "pause"], check=True, capture_output=True)
    try:
        rc, rows = status(ovn_lab, "--no-neutron")
        northd = next(r for r in rows if r["check"] == "northd")
        assert rc == 1 and northd["verdict"] == "fail", northd
        assert "no ovn-northd is active" in northd["evidence"] and "granted steth the lock" in northd["evidence"]
        rc, first = root_cause(ovn_lab, "vm2")
        assert named("ovn-northd", "ovn-northd not running")((rc, first)), first
    finally:
        subprocess.run(["ovn-appctl", "-t", ctl, "resume"], check=True, capture_output=True)
    rc, rows = eventually(lambda: status(ovn_lab, "--no-neutron"), lambda r: r[0] == 0, timeout=20, what="resumed")
    assert any(r["check"] == "northd" and "holds the lock 'ovn_northd'" in r["evidence"] for r in rows), rows


def test_sb_quorum_lost_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-sb-quorum-lost")
    try:
        rc, rows = status(ovn_lab, "--no-neutron")
        assert rc == 1
        cluster = next(r for r in rows if r["check"] == "cluster-sb" and r["subject"] == "cluster")
        # right after the freeze the survivor may still call itself leader until its election timer fires:
        # then the quorum count names the fault, afterwards the missing leader does
        no_quorum = ("0 leaders among 3 members", "only 1 of 3 members connected (quorum 2)")
        assert cluster["verdict"] == "fail" and any(t in cluster["evidence"] for t in no_quorum), cluster
        members = [r for r in rows if r["check"] == "cluster-sb" and r["subject"] != "cluster"]
        assert sum("unreachable" in r["evidence"] for r in members) == 2, members
        assert all(r["verdict"] == "ok" for r in rows if r["check"] == "cluster-nb")
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: status(ovn_lab)[0], lambda rc: rc == 0, timeout=60, what="SB cluster healthy again")


def test_lsp_deleted_is_named_and_other_vms_stay_healthy(ovn_lab):
    vm2, vm1 = vm(ovn_lab, "vm2"), vm(ovn_lab, "vm1")
    fid = add_fault(ovn_lab, "ovn-lsp-deleted", "--vm", "vm2")
    try:
        rc, rows, _ = sync(ovn_lab)
        assert rc == 1
        assert [(r["id"], r["check"]) for r in rows] == [(vm2["port_id"], "nb-lsp")], rows
        assert "no Logical_Switch_Port" in rows[0]["ovn"]
        rc1, rows1, _ = sync(ovn_lab, "--port", vm1["port_id"])
        assert rc1 == 0 and rows1 == []
        assert eventually(lambda: ping(vm1["namespace"], "203.0.113.10"), bool, timeout=10, what="vm1 SNAT")
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: sync(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="sync-check clean again")
    assert eventually(lambda: ping(vm2["namespace"], "203.0.113.10"), bool, timeout=20, what="vm2 SNAT again")


def test_status_without_ovn_section_is_a_config_error(ovn_lab, tmp_path):
    conf = tmp_path / "steth.conf"
    with open(ovn_lab["env"]["STETH_CONFIG"]) as fh:
        conf.write_text(fh.read().split("[ovn]")[0])
    r = steth("ovn", "status", "--config-file", str(conf), "--no-neutron", env=ovn_lab["env"])
    assert r.rc == 2 and "no [ovn] section" in r.err


def trace(lab, port_id: str, to: str, proto: str):
    r = steth("ovn", "trace", port_id, "--to", to, "--proto", proto, "-f", "json", env=lab["env"], timeout=120)
    assert r.rc in (0, 1), r.err + r.out
    return r.rc, json.loads(r.out), r.err


def test_trace_through_the_router_to_the_internet(ovn_lab):
    vm1 = vm(ovn_lab, "vm1")
    rc, stages, err = trace(ovn_lab, vm1["port_id"], "203.0.113.10", "icmp")  # SNAT through the router
    assert rc == 0 and "delivered to provnet-" in err, err
    assert any(s["stage"].startswith("lr_") for s in stages)  # it crossed the router's pipeline


def test_trace_delivered_and_acl_drop(ovn_lab):
    vm1, vm2 = vm(ovn_lab, "vm1"), vm(ovn_lab, "vm2")
    rc, stages, err = trace(ovn_lab, vm2["port_id"], f"{vm1['fixed_ip']}:22", "tcp")  # the group admits TCP 22
    # ovn-trace names the logical port as Neutron named it (the lab's port name: LAB-vm1)
    assert rc == 0 and f"delivered to {ovn_lab['name']}-vm1" in err, err
    rc, stages, err = trace(ovn_lab, vm2["port_id"], f"{vm1['fixed_ip']}:80", "tcp")  # but not TCP 80
    assert rc == 1 and "_acl" in err and "neutron_pg_drop" in err, err


def doctor(lab, ref: str, *extra: str):
    r = steth("doctor", ref, *extra, "-f", "json", env=lab["env"], timeout=120)
    try:
        return r.rc, json.loads(r.out), r.err
    except ValueError:
        raise AssertionError(f"doctor {ref}: exit {r.rc}, no JSON: {r.err or r.out}") from None


def test_doctor_walks_the_ovn_chain(ovn_lab):
    for name in ("vm1", "vm2"):
        rc, rows, err = doctor(ovn_lab, vm(ovn_lab, name)["port_id"])
        assert rc == 0, (name, [r for r in rows if r["verdict"] not in ("ok", "skipped")], err)
        checks = {r["check"] for r in rows}
        assert {"ovn-northd", "OVN logical switch port", "OVN port binding", "OVN DHCP options"} <= checks, checks
    fid = add_fault(ovn_lab, "ovn-lsp-deleted", "--vm", "vm2")
    try:
        rc, rows, err = doctor(ovn_lab, vm(ovn_lab, "vm2")["port_id"])
        first = next(r for r in rows if r["verdict"] == "fail")
        assert rc == 1 and first["check"] == "OVN logical switch port", rows
        assert "no Logical_Switch_Port" in first["evidence"]
        assert doctor(ovn_lab, vm(ovn_lab, "vm1")["port_id"])[0] == 0  # the other VM stays healthy
    finally:
        remove_fault(ovn_lab, fid)


def root_cause(lab, name: str, *extra: str) -> tuple[int, dict | None]:
    """doctor on a VM: its exit status and the first failing row (the root cause), None when healthy."""
    rc, rows, _ = doctor(lab, vm(lab, name)["port_id"], *extra)
    return rc, next((r for r in rows if r["verdict"] == "fail"), None)


def named(check: str, cause: str):
    return lambda got: got[0] == 1 and got[1] is not None and got[1]["check"] == check and cause in got[1]["cause"]


def check_dhcp(lab, name: str):
    r = steth("check", "dhcp", vm(lab, name)["port_id"], "-f", "json", env=lab["env"], timeout=120)
    return r.rc, r.err


def test_healthy_vms_pass_check_dhcp_on_ovn(ovn_lab):
    for name in ("vm1", "vm4"):  # a VLAN VM on compute-1, a Geneve VM on compute-2
        rc, err = check_dhcp(ovn_lab, name)
        assert rc == 0 and "handed to ovn-controller" in err and "its OFFER" in err, (name, err)


def test_dhcp_options_deleted_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-dhcp-options-deleted", "--vm", "vm2")  # the Geneve subnet
    try:
        rc, first = root_cause(ovn_lab, "vm2")
        assert named("OVN DHCP options", "no DHCP_Options")((rc, first)), first
        assert "no DHCP_Options row" in first["evidence"]
        rc, err = check_dhcp(ovn_lab, "vm2")
        assert rc == 1 and "no OFFER came back" in err and "no DHCP_Options row for the port's subnet" in err, err
        rc, rows, _ = sync(ovn_lab)
        assert rc == 1 and [r["check"] for r in rows] == ["nb-dhcp-options"], rows
        assert root_cause(ovn_lab, "vm1")[0] == 0  # the VLAN subnet keeps its options
    finally:
        remove_fault(ovn_lab, fid)
    assert check_dhcp(ovn_lab, "vm2")[0] == 0


def test_controller_stopped_is_named(ovn_lab):
    node = vm(ovn_lab, "vm4")["node"]
    fid = add_fault(ovn_lab, "ovn-controller-stopped", "--node", node)
    try:
        # Neutron bumps nb_cfg when its agents are listed (at most every agent_down_time / 2): polled
        got = eventually(
            lambda: root_cause(ovn_lab, "vm4"),
            named("OVN chassis of the host", "ovn-controller down"),
            timeout=40,
            what="doctor naming the stopped ovn-controller",
        )
        assert f"chassis {node}" in got[1]["evidence"] and "behind SB_Global.nb_cfg" in got[1]["evidence"]
        assert root_cause(ovn_lab, "vm2")[0] == 0  # on the other compute
        rc, rows = status(ovn_lab)
        assert rc == 1 and any(
            r["check"] == "chassis" and r["subject"] == node and "not alive" in r["evidence"] for r in rows
        )
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: root_cause(ovn_lab, "vm4")[0], lambda rc: rc == 0, timeout=30, what="vm4 healthy again")


def test_iface_id_changed_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-iface-id-changed", "--vm", "vm2")
    try:
        got = eventually(
            lambda: root_cause(ovn_lab, "vm2"),
            named("OVN port binding", "Port_Binding without chassis"),
            timeout=20,
            what="doctor naming the lost binding",
        )
        assert "Port_Binding chassis none" in got[1]["evidence"]
        assert root_cause(ovn_lab, "vm4")[0] == 0
        rc, rows, _ = sync(ovn_lab)
        found = [(r["id"], r["check"]) for r in rows]
        assert rc == 1 and (vm(ovn_lab, "vm2")["port_id"], "sb-chassis") in found, rows
        assert (vm(ovn_lab, "vm2")["port_id"], "chassis-iface") in found, rows  # the VIF lost its iface-id
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: sync(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="vm2 bound again")


def test_system_id_changed_is_named(ovn_lab):
    node = vm(ovn_lab, "vm4")["node"]
    fid = add_fault(ovn_lab, "ovn-system-id-changed", "--node", node)
    try:
        rc, first = eventually(
            lambda: root_cause(ovn_lab, "vm4"),
            named("OVN chassis of the host", "stale chassis"),
            timeout=20,
            what="doctor naming the stale chassis",
        )
        assert f"system-id {node}-steth-new" in first["evidence"] and "Encap still holds" in first["evidence"]
        assert root_cause(ovn_lab, "vm2")[0] == 0
        rc, rows = status(ovn_lab)
        stale = [r for r in rows if r["check"] == "chassis-ovs" and r["subject"] == node]
        assert rc == 1 and stale and f"chassis {node} is stale" in stale[0]["evidence"], rows
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: status(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="ovn status healthy again")


def test_gateway_chassis_removed_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-gateway-chassis-removed")
    try:
        rc, first = root_cause(ovn_lab, "vm2")
        assert named("OVN router gateway", "gateway chassis missing")((rc, first)), first
        assert "has no Gateway_Chassis" in first["evidence"]
        rc, rows = status(ovn_lab)
        gw = [r for r in rows if r["check"] == "gateway"]
        assert rc == 1 and gw[0]["verdict"] == "fail" and "no Gateway_Chassis" in gw[0]["evidence"], gw
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: status(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="gateway bound again")
    assert eventually(lambda: ping(vm(ovn_lab, "vm2")["namespace"], "203.0.113.10"), bool, timeout=20, what="SNAT")


def test_fip_nat_removed_is_named(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-fip-nat-removed", "--vm", "vm1")
    try:
        rc, first = root_cause(ovn_lab, "vm1")
        assert named("OVN floating IP NAT", "NAT row of the floating IP missing")((rc, first)), first
        assert root_cause(ovn_lab, "vm2")[0] == 0  # no floating IP: not concerned
        rc, rows, _ = sync(ovn_lab)
        assert rc == 1 and [r["check"] for r in rows] == ["nb-nat"], rows
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: sync(ovn_lab)[0], lambda rc: rc == 0, timeout=30, what="NAT row back")


def test_acl_denied_flow_is_named(ovn_lab):
    vm4 = vm(ovn_lab, "vm4")
    fid = add_fault(ovn_lab, "sg-missing-rule", "--vm", "vm2")  # a group without any rule on vm2's port
    try:
        rc, first = root_cause(ovn_lab, "vm2", "--to", "203.0.113.10")
        assert named("security groups", "security group denies")((rc, first)), first
        rc, _, err = trace(ovn_lab, vm(ovn_lab, "vm2")["port_id"], vm4["fixed_ip"], "icmp")
        assert rc == 1 and "ls_in_acl" in err and "neutron_pg_drop" in err, err
        assert root_cause(ovn_lab, "vm4", "--to", "203.0.113.10")[0] == 0
    finally:
        remove_fault(ovn_lab, fid)


# ---- the data plane: the VM's own packet at every hop OVN uses -----------------------------------------------

OWN = "VM's own packet (OVN)"


def own_row(rows: list[dict]) -> dict:
    return next(r for r in rows if r["check"] == OWN)


def encap_ip(lab, node: str) -> str:
    ns = f"steth-{lab['name']}-{node}"
    out = subprocess.run(["ip", "-j", "-n", ns, "addr", "show", "dev", "br-tenant"], capture_output=True, text=True)
    return next(a["local"] for a in json.loads(out.stdout)[0]["addr_info"] if a["family"] == "inet")


def test_healthy_vms_are_proven_by_their_own_packet(ovn_lab):
    inet = ovn_lab["state"]["extra"]["neutron"]["external"]["internet_host"]
    for name, extra in (("vm2", ()), ("vm3", ()), ("vm4", ("--to", f"{inet}:80"))):
        rc, rows, err = doctor(ovn_lab, vm(ovn_lab, name)["port_id"], *extra)
        own = own_row(rows)
        assert rc == 0 and own["verdict"] == "ok", (name, own, err)
        assert "crossed every hop and its reply came back" in own["evidence"], own
        node = vm(ovn_lab, name)["node"]
        for hop in (
            f"{node}/vm-tap:.Q",
            f"{node}/compute-uplink:RQ",
            "network/gateway-uplink:RQ",
            "network/external:RQ",
        ):
            assert hop in own["evidence"], (hop, own["evidence"])
        mtu = next(r for r in rows if r["check"] == "MTU (OVN)")
        assert mtu["verdict"] == "ok" and next(r for r in rows if r["check"] == "DHCP from OVN")["verdict"] == "ok"
        if name == "vm2":  # the Geneve network: its MTU plus Geneve's 58 bytes on both chassis' uplinks
            assert "geneve overhead 58" in mtu["evidence"], mtu


def test_geneve_block_is_the_root_cause_on_the_blocked_chassis(ovn_lab):
    fid = add_fault(ovn_lab, "ovn-geneve-block", "--node", "compute-1", "--to", "network")
    a, b = encap_ip(ovn_lab, "compute-1"), encap_ip(ovn_lab, "network")
    try:
        inet = ovn_lab["state"]["extra"]["neutron"]["external"]["internet_host"]
        for extra in ((), ("--to", inet)):
            rc, first = root_cause(ovn_lab, "vm2", *extra)  # a Geneve VM of compute-1
            want = f"Geneve (UDP 6081) lost between chassis compute-1 ({a}) and network ({b})"
            assert rc == 1 and first["check"] == OWN and first["cause"] == want, first
            assert "stops after compute-1/compute-uplink" in first["evidence"], first
        assert root_cause(ovn_lab, "vm4", "--to", inet)[0] == 0  # a Geneve VM of compute-2
    finally:
        remove_fault(ovn_lab, fid)


def test_underlay_mtu_is_named_on_ovn(ovn_lab):
    fid = add_fault(ovn_lab, "underlay-mtu", "--vm", "vm2")
    try:
        rc, first = root_cause(ovn_lab, "vm2")
        assert named("MTU (OVN)", "MTU / overlay overhead mismatch")((rc, first)), first
        assert "network MTU 1442 + geneve overhead 58 = 1500" in first["evidence"] and "MTU 1400" in first["evidence"]
        assert root_cause(ovn_lab, "vm4")[0] == 0  # compute-2's underlay is whole
    finally:
        remove_fault(ovn_lab, fid)


def test_replies_dropped_by_hand_on_the_switch_are_named(ovn_lab):
    """Not a lab fault: the test drops Geneve from the gateway chassis to compute-2 (the replies' way) itself."""
    a, b = encap_ip(ovn_lab, "network"), encap_ip(ovn_lab, "compute-2")
    sw = next(n for n in ovn_lab["state"]["namespaces"] if n.endswith("-sw"))
    rule = ["FORWARD", "-p", "IPv4", "--ip-src", a, "--ip-dst", b, "--ip-proto", "udp", "--ip-dport", "6081"]
    subprocess.run(["ip", "netns", "exec", sw, "ebtables", "-A", *rule, "-j", "DROP"], check=True)
    try:
        rc, first = root_cause(ovn_lab, "vm4")
        want = f"Geneve (UDP 6081) lost between chassis network ({a}) and compute-2 ({b})"
        assert rc == 1 and first["check"] == OWN and first["cause"] == want, first
        assert "the reply from" in first["evidence"] and "not seen on compute-2/compute-uplink" in first["evidence"]
        assert root_cause(ovn_lab, "vm2")[0] == 0  # compute-1's tunnels are whole
    finally:
        subprocess.run(["ip", "netns", "exec", sw, "ebtables", "-D", *rule, "-j", "DROP"], check=True)
    assert root_cause(ovn_lab, "vm4")[0] == 0


METADATA_URL = "http://169.254.169.254/latest/meta-data/instance-id"
FETCH = (
    "import sys, urllib.request\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))\n"
    "    print(r.status, r.read().decode())\n"
    "except Exception as e:\n"
    "    print('error', e)\n"
)


def metadata(lab, name: str, timeout: float = 5) -> str:
    """GET the instance id from inside the VM (VM -> localport -> ovnmeta- haproxy -> agent -> stand-in)."""
    ns = vm(lab, name)["namespace"]
    argv = ["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", FETCH, METADATA_URL, str(timeout)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10).stdout.strip()


def test_vms_get_metadata_and_doctor_checks_the_path(ovn_lab):
    for name in ("vm1", "vm4"):  # one per compute node, one per network
        assert metadata(ovn_lab, name) == f"200 {vm(ovn_lab, name)['device_id']}"
        rc, rows, err = doctor(ovn_lab, vm(ovn_lab, name)["port_id"])
        row = next(r for r in rows if r["check"] == "OVN metadata path")
        assert rc == 0 and row["verdict"] == "ok", (name, row, err)
        assert "haproxy" in row["evidence"] and "OVN Metadata agent alive" in row["evidence"]


def test_metadata_agent_down_is_named(ovn_lab):
    node = vm(ovn_lab, "vm4")["node"]
    assert vm(ovn_lab, "vm2")["node"] != node
    fid = add_fault(ovn_lab, "ovn-metadata-down", "--node", node)
    try:
        assert metadata(ovn_lab, "vm4", timeout=3).startswith("error")  # haproxy accepts, nothing answers
        got = eventually(
            lambda: root_cause(ovn_lab, "vm4"),
            named("OVN metadata path", "metadata agent down"),
            timeout=40,
            what="doctor naming the stopped metadata agent",
        )
        assert f"OVN Metadata agent on {node}" in got[1]["evidence"], got
        assert root_cause(ovn_lab, "vm2")[0] == 0  # on the other compute
    finally:
        remove_fault(ovn_lab, fid)
    eventually(lambda: root_cause(ovn_lab, "vm4")[0], lambda rc: rc == 0, timeout=40, what="vm4 healthy again")


def test_metadata_address_removed_is_named(ovn_lab):
    v = vm(ovn_lab, "vm2")
    net = ovn_lab["state"]["extra"]["neutron"]["networks"][v["network"]]
    nsenter = ["nsenter", f"--net={ovn_lab['dir']}/{v['node']}/netns/ovnmeta-{net}"]
    shown = json.loads(
        subprocess.run([*nsenter, "ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout
    )
    dev = next(i["ifname"] for i in shown for a in i.get("addr_info", []) if a.get("local") == "169.254.169.254")
    subprocess.run([*nsenter, "ip", "addr", "del", "169.254.169.254/32", "dev", dev], check=True)
    try:
        rc, first = root_cause(ovn_lab, "vm2")
        assert named("OVN metadata path", "no metadata proxy on the path")((rc, first)), first
        assert "has no 169.254.169.254" in first["evidence"]
        assert root_cause(ovn_lab, "vm4")[0] == 0  # the same network on the other compute: its own namespace
    finally:
        subprocess.run([*nsenter, "ip", "addr", "replace", "169.254.169.254/32", "dev", dev], check=True)
    assert root_cause(ovn_lab, "vm2")[0] == 0
