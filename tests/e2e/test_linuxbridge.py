"""End to end on the ML2/Linux bridge lab: the lab is what it says (brq/vxlan devices, l2population FDB, taps
in their bridges, leases, router); `doctor` and `check dhcp` pass on healthy VMs; each Linux bridge fault is
named by `doctor` as the root cause on the affected VM while a VM on the other compute node stays healthy;
removing it heals the VM.

One lab for the module (the ``lb_lab`` fixture). Waits are bounded polls (``eventually``).
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess

import pytest

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.linuxbridge]


def vm(lab, name: str) -> dict:
    return next(v for v in lab["state"]["extra"]["neutron"]["vms"] if v["name"] == name)


def doctor(lab, name: str) -> tuple[int, list[dict]]:
    r = steth("doctor", vm(lab, name)["port_id"], "-f", "json", env=lab["env"], timeout=120)
    try:
        return r.rc, json.loads(r.out)
    except ValueError:
        raise AssertionError(f"doctor {name}: exit {r.rc}, no JSON: {r.err or r.out}") from None


def doctors(lab, *names: str) -> dict[str, tuple[int, list[dict]]]:
    """doctor on several VMs at once (each takes a few seconds of probing)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        return dict(zip(names, pool.map(lambda n: doctor(lab, n), names)))


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
        assert {"security group chains (iptables)", "DHCP exchange", "MTU"} <= checks
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
