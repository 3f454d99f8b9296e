"""End to end: a real Neutron (Debian's packages) on the lab, and steth's view of it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ..conftest import steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.neutron]


def run(lab, *args):
    return steth(*args, env=lab["env"], timeout=60)


def vms(lab):
    return lab["state"]["extra"]["neutron"]["vms"]


def ns_addresses(ns: str) -> list[str]:
    out = subprocess.run(["ip", "-n", ns, "-j", "addr", "show", "dev", "eth0"], capture_output=True, text=True)
    return [
        a["local"]
        for link in json.loads(out.stdout or "[]")
        for a in link.get("addr_info", [])
        if a.get("family") == "inet"
    ]


def test_agents_alive_with_configuration(neutron_lab):
    r = run(neutron_lab, "neutron", "agent", "list", "-f", "json")
    assert r.rc == 0, r.err
    rows = r.json()
    assert sorted((a["host"], a["binary"]) for a in rows) == [
        ("compute-1", "neutron-openvswitch-agent"),
        ("compute-2", "neutron-openvswitch-agent"),
        ("network", "neutron-dhcp-agent"),
        ("network", "neutron-l3-agent"),
        ("network", "neutron-openvswitch-agent"),
    ]
    assert all(a["alive"] for a in rows)
    for a in rows:
        if a["binary"] == "neutron-openvswitch-agent":
            extra = {"extnet": "br-ex"} if a["host"] == "network" else {}  # only the network node reaches it
            assert a["bridge_mappings"] == {"physnet1": "br-tenant", **extra}
            assert a["integration_bridge"] == "br-int" and a["tunnel_ip"] and a["datapath_type"] == "netdev"


def test_vms_plugged_both_ways_on_both_networks(neutron_lab):
    plan = {(vm["network"], vm["plug"]) for vm in vms(neutron_lab)}
    assert plan == {("vlan", "hybrid"), ("vlan", "direct"), ("vxlan", "hybrid"), ("vxlan", "direct")}


@pytest.mark.parametrize("index", range(4))
def test_port_active_and_vm_leased_its_fixed_ip_from_dnsmasq(neutron_lab, index):
    vm = vms(neutron_lab)[index]
    r = run(neutron_lab, "port", "show", vm["port_id"], "-f", "json")
    assert r.rc == 0, r.err
    (port,) = r.json()
    assert port["status"] == "ACTIVE" and port["vif_type"] == "ovs" and port["host"] == vm["node"]
    assert port["type"] == vm["network"]
    assert port["dhcp_agents"] == ["network:alive"]
    # the address in the VM's namespace came from Neutron's dnsmasq and is the port's fixed IP
    assert ns_addresses(vm["namespace"]) == port["fixed_ips"] == [vm["lease_ip"]]
    assert vm["dhcp_server"].startswith(port["fixed_ips"][0].rsplit(".", 1)[0] + ".")


def test_port_lookup_by_id_mac_and_ip_agree(neutron_lab):
    vm = vms(neutron_lab)[0]
    rows = [run(neutron_lab, "port", "show", ref, "-f", "json") for ref in (vm["port_id"], vm["mac"], vm["fixed_ip"])]
    assert all(r.rc == 0 for r in rows), [r.err for r in rows]
    assert rows[0].json() == rows[1].json() == rows[2].json()
    assert rows[0].json()[0]["segment"] == (101 if vm["network"] == "vlan" else 1001)


def test_unknown_port_is_a_usage_error(neutron_lab):
    r = run(neutron_lab, "port", "show", "fa:16:3e:00:00:00")
    assert r.rc == 2 and "no port" in r.err


def test_lab_status_lists_vms_networks_agents(neutron_lab):
    r = run(neutron_lab, "lab", "status", "--name", neutron_lab["name"], "-f", "json")
    assert r.rc == 0, r.err
    rows = r.json()
    by_role: dict[str, list] = {}
    for row in rows:
        by_role.setdefault(row["role"], []).append(row)
    assert len(by_role["vm"]) == 4 and all(row["agent_state"] == "ACTIVE" for row in by_role["vm"])
    assert len(by_role["network"]) == 4  # the network node + the two tenant networks + the external one
    assert sum(1 for row in by_role["agent"] if row["agent_state"] == "alive") == 5
    l3 = neutron_lab["state"]["extra"]["neutron"]
    (router,) = by_role["router"]
    assert router["namespace"] == f"qrouter-{l3['router']['id']}" and router["agent_state"] == "ACTIVE"
    assert f"gateway {l3['router']['gateway_ip']} interfaces 192.168.101.1 192.168.201.1" in router["agent"]
    (fip,) = by_role["floating-ip"]
    assert fip["node"] == l3["floating_ips"]["vm1"]["address"] and fip["agent"].startswith("-> vm1 ")
    (inet,) = by_role["internet"]
    assert inet["namespace"] == l3["external"]["namespace"] and inet["agent_state"] == "running"
    assert "host 203.0.113.10 tcp 80 dns 203.0.113.53" in inet["agent"]


def test_lab_status_views_give_each_fact_a_column(neutron_lab):
    """`lab status --view vm -f json`: a script reads port_id, mac, fixed_ip, node by name."""
    r = run(neutron_lab, "lab", "status", "--name", neutron_lab["name"], "--view", "vm", "-f", "json")
    assert r.rc == 0, r.err
    rows = {row["name"]: row for row in r.json()}
    for vm in vms(neutron_lab):
        row = rows[vm["name"]]
        assert (row["port_id"], row["mac"], row["fixed_ip"], row["node"]) == (
            vm["port_id"],
            vm["mac"],
            vm["fixed_ip"],
            vm["node"],
        )
        assert row["leased"].startswith(vm["fixed_ip"] + "/") and row["state"] == "ACTIVE"
    procs = run(neutron_lab, "lab", "status", "--name", neutron_lab["name"], "--view", "process", "-f", "json")
    assert procs.rc == 0 and all(isinstance(p["pid"], int) and p["argv"] for p in procs.json())


def test_ovs_show_lists_vm_port_with_iface_id(neutron_lab):
    for vm in vms(neutron_lab):
        r = run(neutron_lab, "ovs", "show", vm["node"], "br-int", "-f", "json")
        assert r.rc == 0, r.err + r.out
        rows = {row["port"]: row for row in r.json()}
        port = rows[vm["ovs_port"]]
        assert port["external_ids"]["iface-id"] == vm["port_id"]
        assert port["external_ids"]["attached-mac"] == vm["mac"]
        assert isinstance(port["tag"], int) and 0 < port["tag"] < 4095
        assert vm["ovs_port"].startswith("qvo" if vm["plug"] == "hybrid" else "tap")
        assert rows["patch-tun"]["peer"] == "patch-int" and rows["int-br-tenant"]["peer"] == "phy-br-tenant"


def test_ovs_trace_dhcp_discover_leaves_on_the_vlan(neutron_lab):
    vm = next(v for v in vms(neutron_lab) if v["network"] == "vlan" and v["plug"] == "hybrid")
    r = run(
        neutron_lab,
        "ovs",
        "trace",
        vm["node"],
        "br-int",
        "--in-port",
        vm["ovs_port"],
        "--dl-src",
        vm["mac"],
        "--dl-dst",
        "ff:ff:ff:ff:ff:ff",
        "--proto",
        "udp",
        "--nw-src",
        "0.0.0.0",
        "--nw-dst",
        "255.255.255.255",
        "--tp-src",
        "68",
        "--tp-dst",
        "67",
        "-f",
        "json",
    )
    assert r.rc == 0, r.err + r.out
    out = r.json()
    assert out["verdict"] == "ok" and not out["dropped"]
    assert "udp_src=68" in out["flow"]
    assert "vid=101" in out["datapath_actions"]  # local VLAN rewritten to the segmentation id


def test_ovs_trace_rejects_bad_fields(neutron_lab):
    r = run(neutron_lab, "ovs", "trace", "compute-1", "br-int", "--in-port", "x;rm", "--dl-src", "nope")
    assert r.rc == 2


def check_dhcp(lab, ref, *extra):
    r = steth("check", "dhcp", ref, "-f", "json", *extra, env=lab["env"], timeout=90)
    rows = r.json() if r.out.strip().startswith("[") else []
    return r, rows


@pytest.mark.parametrize("kind", [("vlan", "hybrid"), ("vxlan", "direct")])
def test_check_dhcp_healthy(neutron_lab, kind):
    vm = next(v for v in vms(neutron_lab) if (v["network"], v["plug"]) == kind)
    r, rows = check_dhcp(neutron_lab, vm["port_id"])
    assert r.rc == 0, r.err + r.out
    hops = {row["hop"]: row for row in rows}
    expected = {"vm-tap", "compute-uplink", "network-uplink", "qdhcp"} | (
        {"qvb", "qvo"} if kind[1] == "hybrid" else set()
    )
    assert set(hops) == expected
    assert hops["qdhcp"]["discover"] and hops["qdhcp"]["offer"] and hops["vm-tap"]["offer"]
    assert "ok: DHCPDISCOVER reached dnsmasq" in r.err


def vm_named(lab, name):
    return next(v for v in vms(lab) if v["name"] == name)


def with_fault(lab, *args):
    r = steth("lab", "fault", "add", *args, "--name", lab["name"], env=lab["env"])
    assert r.rc == 0, r.err
    return r


def remove_faults(lab):
    r = steth("lab", "fault", "remove", "--all", "--name", lab["name"], env=lab["env"])
    assert r.rc == 0, r.err


FAULTS = [
    # (fault args, VM, expected text in the finding)
    (("dnsmasq-stopped", "--network", "vlan"), ("vlan", "hybrid"), "dnsmasq sent no OFFER"),
    (
        ("vxlan-block", "--node", "{node}", "--to", "network"),
        ("vxlan", "direct"),
        "stops after {node}/compute-uplink: not seen on network/network-uplink",
    ),
    (("port-wrong-tag", "--vm", "{vm}"), ("vlan", "direct"), "has tag 4094 but the Neutron agent assigned local VLAN"),
    (("rogue-dhcp", "--vm", "{vm}"), ("vlan", "hybrid"), "rogue DHCP server 10.66.0.1"),
    (("port-unplugged", "--vm", "{vm}"), ("vxlan", "hybrid"), "not plugged into Open vSwitch"),
]


@pytest.mark.parametrize("fault,kind,finding", FAULTS, ids=[f[0][0] for f in FAULTS])
def test_check_dhcp_names_the_fault(neutron_lab, fault, kind, finding):
    vm = next(v for v in vms(neutron_lab) if (v["network"], v["plug"]) == kind)
    args = [a.format(node=vm["node"], vm=vm["name"]) for a in fault]
    with_fault(neutron_lab, *args)
    try:
        r, _ = check_dhcp(neutron_lab, vm["port_id"])
        assert r.rc == 1, r.err + r.out
        assert finding.format(node=vm["node"]) in r.err, r.err
    finally:
        remove_faults(neutron_lab)
    # every fault is undone: DHCP works again for that VM (the re-plugged port may need a moment)
    for _ in range(3):
        r, _ = check_dhcp(neutron_lab, vm["port_id"])
        if r.rc == 0:
            break
    assert r.rc == 0, r.err


def test_original_names_check_dhcp_on_comp_and_network(neutron_lab):
    vm = next(v for v in vms(neutron_lab) if v["network"] == "vxlan")
    r = steth("check-dhcp-on-comp", vm["port_id"], "eth1", "vxlan", "-f", "json", env=neutron_lab["env"], timeout=90)
    assert r.rc == 0, r.err
    assert {row["node"] for row in r.json()} == {vm["node"]}
    wrong = steth("check-dhcp-on-network", vm["port_id"], "eth1", "vlan", env=neutron_lab["env"], timeout=90)
    assert wrong.rc == 2 and "not vlan" in wrong.err


def test_capture_port_path_while_the_vm_renews_its_lease(neutron_lab, tmp_path):
    """`steth capture --port` captures every hop of the VM's path at once; the VM's DHCP exchange
    shows on each hop, the DISCOVER passing them in path order."""
    import signal
    import time

    from steth.host.dhcp_frames import parse
    from steth.wire.pcap import read_pcapng

    from ..conftest import STETH

    vm = next(v for v in vms(neutron_lab) if (v["network"], v["plug"]) == ("vlan", "hybrid"))
    out = tmp_path / "path.pcapng"
    cap = subprocess.Popen(
        [
            STETH,
            "capture",
            "--port",
            vm["port_id"],
            "--filter",
            "udp port 67 or udp port 68",
            "--duration",
            "25",
            "-w",
            str(out),
        ],
        env={**os.environ, **neutron_lab["env"]},
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
        # the VM asks again (busybox udhcpc; a script that changes nothing in the VM)
        renew = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                vm["namespace"],
                "busybox",
                "udhcpc",
                "-i",
                "eth0",
                "-n",
                "-q",
                "-f",
                "-t",
                "4",
                "-T",
                "2",
                "-s",
                "/bin/true",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert renew.returncode == 0, renew.stderr
        time.sleep(2)
        cap.send_signal(signal.SIGINT)
        stdout, stderr = cap.communicate(timeout=60)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    assert cap.returncode == 0, stderr
    with open(out, "rb") as fh:
        interfaces, packets = read_pcapng(fh)
    names = [i.name for i in interfaces]
    pid = vm["port_id"][:11]
    assert names[:3] == [f"{vm['node']}/tap{pid}", f"{vm['node']}/qvb{pid}", f"{vm['node']}/qvo{pid}"]
    assert any(n.startswith("network/tap") for n in names)  # the qdhcp namespace's port
    first_discover: dict[str, float] = {}
    messages: dict[str, set[str]] = {n: set() for n in names}
    for p in packets:
        frame = parse(p.data)
        if frame is None or frame.client_mac != vm["mac"].lower():
            continue
        name = names[p.hop]
        messages[name].add(frame.message)
        if frame.message == "DISCOVER":
            first_discover.setdefault(name, p.ts_ns)
    for name in names:
        assert {"DISCOVER", "OFFER"} <= messages[name] or name.endswith(f"/tap{pid}"), (name, messages)
    assert {"DISCOVER", "OFFER", "REQUEST", "ACK"} <= messages[f"{vm['node']}/tap{pid}"], messages
    path = [n for n in names if n in first_discover]
    times = [first_discover[n] for n in path]
    assert times == sorted(times), list(zip(path, times))


# --- L3: the router, SNAT, the floating IP, the internet namespace ---


def l3(lab):
    return lab["state"]["extra"]["neutron"]


def in_ns(ns: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout)


def conntrack(ns: str, *args: str) -> str:
    return in_ns(ns, "conntrack", "-L", *args).stdout


def test_router_state_recorded_and_namespace_built(neutron_lab):
    rec = l3(neutron_lab)
    assert set(rec["router"]) == {"id", "name", "gateway_ip"}
    assert rec["router"]["name"] == f"{neutron_lab['name']}-router"
    ext = rec["external"]
    assert (ext["gateway"], ext["internet_host"], ext["tcp_port"], ext["dns"]) == (
        "198.51.100.1",
        "203.0.113.10",
        80,
        "203.0.113.53",
    )
    assert ext["namespace"] == f"steth-{neutron_lab['name']}-inet" and ext["namespace"] in rec_namespaces(neutron_lab)
    qrouter = f"qrouter-{rec['router']['id']}"
    out = subprocess.run(["ip", "-n", qrouter, "-j", "addr"], capture_output=True, text=True)
    addrs = {
        a["local"]
        for link in json.loads(out.stdout or "[]")
        for a in link.get("addr_info", [])
        if a.get("family") == "inet"
    }
    fip = rec["floating_ips"]["vm1"]
    assert {rec["router"]["gateway_ip"], fip["address"], "192.168.101.1", "192.168.201.1"} <= addrs, (
        addrs,
        out.stderr,
        sorted(
            ns
            for ns in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout.split()
            if ns.startswith("q")
        ),
    )
    assert fip["port_id"] == vm_named(neutron_lab, "vm1")["port_id"]
    r = run(neutron_lab, "port", "show", fip["port_id"], "-f", "json")
    assert r.rc == 0, r.err


def rec_namespaces(lab):
    return lab["state"]["namespaces"]


@pytest.mark.parametrize("index", range(4))
def test_vm_pings_the_internet_host_through_snat(neutron_lab, index):
    vm = vms(neutron_lab)[index]
    rec = l3(neutron_lab)
    assert vm["router"] == vm["fixed_ip"].rsplit(".", 1)[0] + ".1" and vm["dns"] == "203.0.113.53"
    ping = in_ns(vm["namespace"], "ping", "-n", "-c", "2", "-W", "2", "203.0.113.10")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    # the router translated the VM's address to its gateway address: the reply went to that
    entries = conntrack(f"qrouter-{rec['router']['id']}", "-p", "icmp", "-s", vm["lease_ip"])
    if vm["name"] == "vm1":  # vm1 has a floating IP: its traffic leaves from that address instead
        source = rec["floating_ips"]["vm1"]["address"]
    else:
        source = rec["router"]["gateway_ip"]
    assert f"src=203.0.113.10 dst={source} " in entries, entries


def test_internet_sees_the_router_gateway_as_source(neutron_lab):
    """A capture in the internet namespace: the echo request arrives from the router's gateway address."""
    import time

    vm = vm_named(neutron_lab, "vm2")
    gateway = l3(neutron_lab)["router"]["gateway_ip"]
    inet = l3(neutron_lab)["external"]["namespace"]
    cap = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            inet,
            "tcpdump",
            "-n",
            "-l",
            "-i",
            "eth0",
            "-c",
            "1",
            f"icmp[icmptype] == icmp-echo and src host {gateway}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # tcpdump says "listening on eth0, ..." on stderr once its filter is attached (bounded by its timeout)
        deadline = time.monotonic() + 10
        heard = ""
        while "listening on" not in heard and time.monotonic() < deadline and cap.poll() is None:
            heard += cap.stderr.readline()
        assert "listening on" in heard, heard
        for _ in range(5):
            in_ns(vm["namespace"], "ping", "-n", "-c", "1", "-W", "1", "203.0.113.10")
            if cap.poll() is not None:
                break
        out, err = cap.communicate(timeout=10)
        err = heard + err
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    assert f"IP {gateway} > 203.0.113.10: ICMP echo request" in out, out + err


def test_internet_pings_vm1_through_its_floating_ip(neutron_lab):
    rec = l3(neutron_lab)
    fip = rec["floating_ips"]["vm1"]["address"]
    vm1 = vm_named(neutron_lab, "vm1")
    ping = in_ns(rec["external"]["namespace"], "ping", "-n", "-c", "2", "-W", "2", fip)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    entries = conntrack(f"qrouter-{rec['router']['id']}", "-p", "icmp", "-d", fip)
    assert f"src={vm1['lease_ip']} dst=198.51.100.1 " in entries, entries  # DNAT to vm1's fixed IP


@pytest.mark.parametrize("name", ["vm2", "vm3"])  # a VXLAN and a VLAN VM
def test_vm_tcp_connect_to_the_internet_host(neutron_lab, name):
    vm = vm_named(neutron_lab, name)
    # busybox wget -T crashes (Debian 12's busybox): the overall timeout comes from `timeout`
    r = in_ns(vm["namespace"], "timeout", "10", "busybox", "wget", "-O-", "http://203.0.113.10:80/")
    assert r.returncode == 0 and "the internet host 203.0.113.10" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("name", ["vm1", "vm4"])
def test_vm_resolves_through_the_internet_resolver(neutron_lab, name):
    vm = vm_named(neutron_lab, name)
    r = in_ns(vm["namespace"], "busybox", "nslookup", "-type=a", "internet.steth", "203.0.113.53")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Address: 203.0.113.10" in r.stdout, r.stdout
