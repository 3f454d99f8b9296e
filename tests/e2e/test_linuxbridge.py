"""End to end on the ML2/Linux bridge lab: the lab is what it says (brq/vxlan devices, l2population FDB, taps
in their bridges, leases, router); `doctor` and `check dhcp` pass on healthy VMs; each Linux bridge fault is
named by `doctor` as the root cause on the affected VM while a VM on the other compute node stays healthy;
removing it heals the VM.

One lab for the module (the ``lb_lab`` fixture). Waits are bounded polls (``eventually``).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from steth.lab.neutron.overlay import INTERNET_HOST

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.linuxbridge]


def vm(lab, name: str) -> dict:
    return next(v for v in lab["state"]["extra"]["neutron"]["vms"] if v["name"] == name)


def doctor(lab, name: str, *more: str) -> tuple[int, list[dict]]:
    r = steth("doctor", vm(lab, name)["port_id"], *more, "-f", "json", env=lab["env"], timeout=120)
    try:
        return r.rc, json.loads(r.out)
    except ValueError:
        raise AssertionError(f"doctor {name}: exit {r.rc}, no JSON: {r.err or r.out}") from None


def doctors(lab, *names: str, to: tuple[str, ...] = ()) -> dict[str, tuple[int, list[dict]]]:
    """doctor on several VMs, one after the other: each one's own packet holds four captures on the network
    node, its agent's limit (--capture-max-concurrent 4); ``to``: e.g. ("--to", ADDRESS)."""
    return {n: doctor(lab, n, *to) for n in names}


def root_cause(rows: list[dict]) -> dict | None:
    return next((r for r in rows if r["verdict"] == "fail"), None)


def healthy(rc: int, rows: list[dict]) -> bool:
    return rc == 0 and root_cause(rows) is None


def add_fault(lab, *args) -> str:
    r = steth("lab", "fault", "add", *args, "--name", lab["name"], env=lab["env"], timeout=90)
    assert r.rc == 0, r.err + r.out
    return r.out.strip().split(": ", 1)[0]


def remove_fault(lab, fid: str) -> None:
    r = steth("lab", "fault", "remove", fid, "--name", lab["name"], env=lab["env"], timeout=120)
    assert r.rc == 0, r.err + r.out


def ip_json(ns: str, *argv: str) -> list[dict]:
    out = subprocess.run(["ip", "-n", ns, "-j", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def test_lab_is_ml2_linuxbridge_with_leases_and_router(lb_lab):
    rec = lb_lab["state"]["extra"]["neutron"]
    assert rec["backend"] == "ml2lb"
    assert set(rec["networks"]) == {"vxlan", "vxlan2"}
    assert len(rec["vms"]) == 4 and "vm1" in rec["floating_ips"]
    for v in rec["vms"]:
        assert v["lease_ip"] == v["fixed_ip"], v  # dnsmasq of the DHCP agent leased each VM its address
        assert v["router"], v
    v1 = vm(lb_lab, "vm1")
    node_ns = f"steth-{lb_lab['name']}-{v1['node']}"
    brq, tap = f"brq{rec['networks']['vxlan'][:11]}", f"tap{v1['port_id'][:11]}"
    links = {x["ifname"]: x for x in ip_json(node_ns, "-d", "link", "show")}
    assert links[tap]["master"] == brq  # plugged as os-vif does
    vx = links["vxlan-1001"]
    assert vx["master"] == brq and vx["linkinfo"]["info_data"]["id"] == 1001
    fdb = subprocess.run(
        ["ip", "netns", "exec", node_ns, "bridge", "-j", "fdb", "show", "dev", "vxlan-1001"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flood = {e.get("dst") for e in json.loads(fdb) if e["mac"] == "00:00:00:00:00:00"}
    assert len(flood) == 2, flood  # l2population: the network node and the other compute node


def test_healthy_vms_pass_doctor_and_check_dhcp(lb_lab):
    got = doctors(lb_lab, "vm1", "vm4")
    for name, (rc, rows) in got.items():
        assert healthy(rc, rows), (name, [r for r in rows if r["verdict"] not in ("ok", "skipped")])
        checks = {r["check"] for r in rows if r["verdict"] == "ok"}
        assert {"VM tap in its bridge", "network device in the bridge", "VXLAN forwarding entries"} <= checks
        assert {"security group chains (iptables)", "DHCP exchange", "MTU", "VM's own packet"} <= checks
        proof = next(r for r in rows if r["check"] == "VM's own packet")
        assert "crossed every hop and its reply came back to the VM" in proof["evidence"], proof
    r = steth("check", "dhcp", vm(lb_lab, "vm1")["port_id"], "-f", "json", env=lb_lab["env"], timeout=120)
    assert r.rc == 0, r.err + r.out
    hops = {h["hop"]: h for h in json.loads(r.out)}
    assert {"vm-tap", "compute-uplink", "network-uplink", "dhcp-tap", "qdhcp"} <= set(hops)
    assert all(h["discover"] and h["offer"] for n, h in hops.items() if n != "vm-tap"), hops


def test_check_all_runs_the_linux_bridge_step_not_the_ovs_one(lb_lab):
    r = steth("check", "all", "--quick", "-f", "json", env=lb_lab["env"], timeout=300)
    rows = {x["check"]: x for x in json.loads(r.out)}
    assert rows["ovs-bridges"]["verdict"] == "skipped", rows["ovs-bridges"]
    assert rows["linuxbridge"]["verdict"] == "ok", rows["linuxbridge"]
    assert rows["linuxbridge"]["scope"] == "3 Linux bridge agents"
    assert rows["neutron-agents"]["verdict"] == "ok", rows["neutron-agents"]


def test_capture_port_follows_the_linux_bridge_hops(lb_lab):
    """`capture --port` on vm1's path while it pings its DHCP server: the ICMP on the tap, VXLAN-encapsulated
    (UDP 8472) on both uplinks, and on the DHCP port's tap and its ns- interface in the qdhcp namespace."""
    import os
    import time

    from ..conftest import STETH

    v1 = vm(lb_lab, "vm1")
    cap = subprocess.Popen(
        [STETH, "capture", "--port", v1["port_id"], "--filter", "icmp or udp port 8472", "--duration", "8"],
        env={**os.environ, **lb_lab["env"]},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        started = ""
        while "capturing on" not in started and time.monotonic() < deadline and cap.poll() is None:
            started += cap.stderr.readline()
        assert "capturing on" in started, started
        server = v1["dhcp_server"]
        subprocess.run(["ip", "netns", "exec", v1["namespace"], "ping", "-c", "3", "-i", "0.3", server], check=True)
        out, err = cap.communicate(timeout=40)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    assert cap.returncode == 0, err
    where = {line.split()[1] for line in out.splitlines() if len(line.split()) > 1}
    tap = f"tap{v1['port_id'][:11]}"
    assert any(tap in w for w in where), where
    assert sum("eth1" in w for w in where) == 2, where  # compute-1 and network uplinks
    assert any("ns-" in w for w in where), where


FAULTS = [
    (["lb-tap-unbridged", "--vm", "vm1"], "VM tap not in its bridge"),
    (["lb-vxlan-down", "--vm", "vm1"], "network device missing or down in the Linux bridge"),
    (["lb-fdb-removed", "--vm", "vm1"], "l2population FDB entry of a remote VTEP missing"),
    (["lb-sg-flushed", "--vm", "vm1"], "host firewall flushed: the port's security group rules are missing"),
    (["lb-agent-down", "--node", "compute-1"], "L2 agent down"),
]


@pytest.mark.parametrize(("args", "cause"), FAULTS, ids=[f[0][0] for f in FAULTS])
def test_fault_is_the_root_cause_on_the_affected_vm_only(lb_lab, args, cause):
    fid = add_fault(lb_lab, *args)
    try:
        if args[0] == "lb-agent-down":  # Neutron marks the agent dead after agent_down_time (11 s)
            eventually(lambda: doctor(lb_lab, "vm1"), lambda d: root_cause(d[1]) is not None, timeout=40, what="dead")
        got = doctors(lb_lab, "vm1", "vm3")  # vm3: the same network, on compute-2
        rc, rows = got["vm1"]
        found = root_cause(rows)
        assert rc == 1 and found is not None, rows
        assert found["cause"] == cause, found
        assert healthy(*got["vm3"]), [r for r in got["vm3"][1] if r["verdict"] == "fail"]
    finally:
        remove_fault(lb_lab, fid)
    eventually(lambda: doctor(lb_lab, "vm1"), lambda d: healthy(*d), timeout=60, what=f"vm1 healthy after {args[0]}")


# --- the VM's own packet: the proof of the path, hop by hop ---


def proof_row(rows: list[dict]) -> dict:
    return next(r for r in rows if r["check"] == "VM's own packet")


def test_the_vm_own_packet_proves_the_path_to_the_internet_hop_by_hop(lb_lab):
    """ICMP from vm1 (the floating IP's VM, compute-1) and a TCP SYN from vm4 (compute-2, the other network),
    injected into their bridges as the VMs, seen on every hop to the internet host and back."""
    got = {
        "vm1": doctor(lb_lab, "vm1", "--to", INTERNET_HOST),
        "vm4": doctor(lb_lab, "vm4", "--to", f"{INTERNET_HOST}:80"),
    }
    for name, (rc, rows) in got.items():
        assert healthy(rc, rows), (name, [r for r in rows if r["verdict"] not in ("ok", "skipped")])
        row = proof_row(rows)
        assert row["verdict"] == "ok" and "crossed every hop" in row["evidence"], row
        node = vm(lb_lab, name)["node"]
        for hop in ("segment-device:RQ", "compute-uplink:RQ"):
            assert f"{node}/{hop}" in row["evidence"], row
        for hop in ("network-uplink:RQ", "qr:RQ", "qg:RQ", "external:RQ"):
            assert f"network/{hop}" in row["evidence"], row
    assert "compute-1/vm-tap:.Q" in proof_row(got["vm1"][1])["evidence"]  # the echo reply reached the VM's tap
    assert "vm-tap:.." in proof_row(got["vm4"][1])["evidence"]  # a SYN-ACK meets the port's stateful chain


def tenant_ip(lab, node: str) -> str:
    (eth1,) = ip_json(f"steth-{lab['name']}-{node}", "addr", "show", "dev", "eth1")
    return next(a["local"] for a in eth1["addr_info"] if a["family"] == "inet")


def switch(lab, tool: str, *argv: str, check: bool = True) -> None:
    subprocess.run(["ip", "netns", "exec", f"steth-{lab['name']}-sw", tool, *argv], check=check, capture_output=True)


def test_an_underlay_filter_on_the_vms_flow_only_is_named_by_its_own_packet(lb_lab):
    """The tenant switch drops compute-1's VXLAN packets whose inner destination is the internet host (an
    iptables u32 match, 46 bytes into the UDP header: VXLAN 8 + Ethernet 14 + the inner IPv4 address at
    16): every other check passes (the router reaches the host; DHCP, pings and the tunnel work), only the
    VM's own packet shows where it stops. vm3 (same network, compute-2) stays healthy."""
    inner = "0x" + "".join(f"{int(b):02x}" for b in INTERNET_HOST.split("."))
    rule = ["FORWARD", "-s", tenant_ip(lb_lab, "compute-1"), "-p", "udp", "--dport", "8472"]
    rule += ["-m", "u32", "--u32", f"0>>22&0x3C@46={inner}", "-j", "DROP"]
    switch(lb_lab, "iptables", "-I", *rule)
    try:
        got = doctors(lb_lab, "vm1", "vm3", to=("--to", INTERNET_HOST))
    finally:
        switch(lb_lab, "iptables", "-D", *rule)
    rc, rows = got["vm1"]
    found = root_cause(rows)
    assert rc == 1 and found is not None and found["check"] == "VM's own packet", rows
    assert "stops after compute-1/compute-uplink (eth1): not seen on network/network-uplink" in found["evidence"]
    assert "underlay from compute-1" in found["next_step"], found
    assert [r["check"] for r in rows if r["verdict"] == "fail"] == ["VM's own packet"], rows
    assert healthy(*got["vm3"]), [r for r in got["vm3"][1] if r["verdict"] == "fail"]
    eventually(
        lambda: doctor(lb_lab, "vm1", "--to", INTERNET_HOST), lambda d: healthy(*d), timeout=60, what="vm1 healed"
    )


def test_vxlan_dropped_on_the_switch_is_the_tunnel_not_the_vm(lb_lab):
    """`lab fault vxlan-block` drops UDP 4789 (ML2/OVS's port): on Linux bridge the kernel's VXLAN port is
    8472, so the same drop is made here with ebtables on the tenant switch, compute-1 -> network."""
    rule = ["FORWARD", "-p", "IPv4", "--ip-src", tenant_ip(lb_lab, "compute-1"), "--ip-dst"]
    rule += [tenant_ip(lb_lab, "network"), "--ip-proto", "udp", "--ip-dport", "8472", "-j", "DROP"]
    switch(lb_lab, "ebtables", "-A", *rule)
    try:
        got = doctors(lb_lab, "vm1", "vm3")
    finally:
        switch(lb_lab, "ebtables", "-D", *rule)
    rc, rows = got["vm1"]
    found = root_cause(rows)
    assert rc == 1 and found is not None and found["cause"] == "tunnel underlay broken", rows
    assert "UDP 8472" in found["next_step"], found
    own = proof_row(rows)
    assert own["verdict"] == "fail" and "not seen on network/network-uplink" in own["evidence"], own
    assert healthy(*got["vm3"]), [r for r in got["vm3"][1] if r["verdict"] == "fail"]


ROUTER_FAULTS = ["router-no-forward", "router-forward-drop"]


@pytest.mark.parametrize("kind", ROUTER_FAULTS)
def test_a_router_that_receives_and_forwards_nothing_is_named_by_the_vms_own_packet(lb_lab, kind):
    """The router answers every probe from inside its namespace; only the VM's own packet, seen on qr- and
    not on qg-, shows it forwards nothing (with the namespace's state that explains it)."""
    fid = add_fault(lb_lab, kind)
    try:
        rc, rows = doctor(lb_lab, "vm1", "--to", INTERNET_HOST)
    finally:
        remove_fault(lb_lab, fid)
    found = root_cause(rows)
    assert rc == 1 and found is not None, rows
    assert found["check"] == "VM's own packet" and found["cause"] == "router not forwarding", found
    assert "stops after network/qr" in found["evidence"] and "not seen on network/qg" in found["evidence"]
    assert ("ip_forward=0" if kind == "router-no-forward" else "FORWARD drops") in found["evidence"], found
