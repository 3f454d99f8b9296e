"""End to end: each Neutron lab fault kind really breaks what it says, and removing it heals the lab.

One Neutron lab for the session (the ``neutron_lab`` fixture); every test injects one fault, shows its
effect with evidence (API state, a ping that fails, an OVS tag, an agent's alive flag, a capture), removes
it and shows the lab healthy again. Waits are bounded polls (``eventually``), never fixed sleeps.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.neutron]

AGENT_DEAD_WITHIN = 30.0  # agent_down_time is 11 s in the lab, reports every 5 s


# ---- helpers ---------------------------------------------------------------------


def add_fault(lab, *args) -> tuple[str, str]:
    r = steth("lab", "fault", "add", *args, "--name", lab["name"], env=lab["env"], timeout=90)
    assert r.rc == 0, r.err + r.out
    fid, desc = r.out.strip().split(": ", 1)
    return fid, desc


def remove_fault(lab, fid: str) -> None:
    r = steth("lab", "fault", "remove", fid, "--name", lab["name"], env=lab["env"], timeout=120)
    assert r.rc == 0, r.err + r.out


def vm(lab, name: str) -> dict:
    return next(v for v in lab["state"]["extra"]["neutron"]["vms"] if v["name"] == name)


def vm_where(lab, network: str, node: str | None = None) -> dict:
    return next(
        v
        for v in lab["state"]["extra"]["neutron"]["vms"]
        if v["network"] == network and (node is None or v["node"] == node)
    )


def node_ns(lab, node: str) -> str:
    return f"steth-{lab['name']}-{node}"


@pytest.fixture(scope="module")
def net(neutron_lab):
    import openstack

    port = neutron_lab["state"]["extra"]["neutron"]["ports"]["api"]
    return openstack.connection.Connection(
        auth_type="none", region_name="RegionOne", network_endpoint_override=f"http://127.0.0.1:{port}/"
    ).network


def ping(ns: str, dst: str, size: int | None = None, df: bool = False, count: int = 1) -> bool:
    argv = ["ip", "netns", "exec", ns, "ping", "-n", "-c", str(count), "-W", "1"]
    if size is not None:
        argv += ["-s", str(size)]
    if df:
        argv += ["-M", "do"]
    return subprocess.run([*argv, dst], capture_output=True, timeout=10 + count).returncode == 0


def pings_again(ns: str, dst: str, timeout: float = 30.0, **kw) -> None:
    eventually(lambda: ping(ns, dst, **kw), bool, timeout=timeout, what=f"{ns} pings {dst}")


def link_mtu(ns: str, ifname: str) -> int:
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", "dev", ifname], capture_output=True, text=True)
    return json.loads(out.stdout)[0]["mtu"]


def addresses(ns: str) -> list[str]:
    out = subprocess.run(["ip", "-n", ns, "-j", "addr", "show", "dev", "eth0"], capture_output=True, text=True)
    return [
        a["local"]
        for link in json.loads(out.stdout or "[]")
        for a in link.get("addr_info", [])
        if a.get("family") == "inet"
    ]


def ovs_tag(lab, v: dict) -> str:
    db = f"{lab['dir']}/{v['node']}/db.sock"
    return subprocess.run(
        ["ovs-vsctl", f"--db=unix:{db}", "get", "Port", v["ovs_port"], "tag"], capture_output=True, text=True
    ).stdout.strip()


def agent_alive(net, host: str, binary: str) -> bool:
    (agent,) = list(net.agents(host=host, binary=binary))
    return bool(agent.is_alive)


def proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        data = fh.read()
    return data[data.rindex(")") + 2]


def healthy(lab, v: dict) -> None:
    pings_again(v["namespace"], v["dhcp_server"])


# ---- kinds -----------------------------------------------------------------------


def test_sg_missing_rule_blocks_both_ways_and_is_undone(neutron_lab, net):
    v1, peer = vm_where(neutron_lab, "vlan", "compute-1"), vm_where(neutron_lab, "vlan", "compute-2")
    before = sorted(net.get_port(v1["port_id"]).security_group_ids)
    assert ping(v1["namespace"], v1["dhcp_server"]) and ping(peer["namespace"], v1["fixed_ip"])
    fid, desc = add_fault(neutron_lab, "sg-missing-rule", "--vm", v1["name"])
    try:
        name = f"{neutron_lab['name']}-{fid}-empty"
        (group,) = list(net.security_groups(name=name))
        assert net.get_port(v1["port_id"]).security_group_ids == [group.id]
        assert list(net.security_group_rules(security_group_id=group.id)) == []
        assert name in desc
        # the firewall on compute-1 follows the port update asynchronously
        eventually(
            lambda: ping(v1["namespace"], v1["dhcp_server"]),
            lambda ok: not ok,
            timeout=20,
            what=f"{v1['name']} cannot send out",
        )
        assert not ping(peer["namespace"], v1["fixed_ip"], count=2), "the VM can still be pinged"
    finally:
        remove_fault(neutron_lab, fid)
    assert sorted(net.get_port(v1["port_id"]).security_group_ids) == before
    assert list(net.security_groups(name=name)) == []
    healthy(neutron_lab, v1)
    pings_again(peer["namespace"], v1["fixed_ip"])


@pytest.mark.parametrize("network_", ["vxlan", "vlan"])
def test_underlay_mtu_drops_full_size_frames_not_small_ones(neutron_lab, net, network_):
    v = vm_where(neutron_lab, network_)
    ns = node_ns(neutron_lab, v["node"])
    mtu = net.get_network(neutron_lab["state"]["extra"]["neutron"]["networks"][network_]).mtu
    assert mtu == (1450 if network_ == "vxlan" else 1500)
    full, small = mtu - 28, mtu - 128  # ICMP payload of a full-size and of a 100 bytes smaller packet
    assert ping(v["namespace"], v["dhcp_server"], size=full, df=True)
    fid, desc = add_fault(neutron_lab, "underlay-mtu", "--vm", v["name"])
    try:
        assert "MTU 1500 -> 1400" in desc and link_mtu(ns, "eth1") == 1400
        # the VM's full-size packets no longer cross (dropped, not fragmented: DF is set), smaller ones do
        assert not ping(v["namespace"], v["dhcp_server"], size=full, df=True, count=2)
        assert ping(v["namespace"], v["dhcp_server"], size=small, df=True)
        # between the tunnel endpoints, from the network node: a 1500-byte DF packet is dropped on the way
        # in (the veth drops frames above eth1's MTU), 1400 bytes pass
        from steth.lab.neutron.ml2ovs.config import tunnel_ip
        from steth.lab.topology import build

        topo = build(neutron_lab["name"], 2, tuple(neutron_lab["state"]["cidrs"]))
        local, remote = str(tunnel_ip(topo, topo.node("network"))), str(tunnel_ip(topo, topo.node(v["node"])))
        netns = node_ns(neutron_lab, "network")
        r = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                netns,
                "ping",
                "-n",
                "-c",
                "2",
                "-W",
                "1",
                "-M",
                "do",
                "-s",
                "1472",
                "-I",
                local,
                remote,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert r.returncode == 1 and " 0 received" in r.stdout, r.stdout + r.stderr
        assert ping(netns, remote, size=1372, df=True)
    finally:
        remove_fault(neutron_lab, fid)
    assert link_mtu(ns, "eth1") == 1500
    pings_again(v["namespace"], v["dhcp_server"], size=full, df=True)


def test_underlay_mtu_refuses_an_mtu_that_still_fits(neutron_lab):
    v = vm_where(neutron_lab, "vxlan")
    r = steth(
        "lab",
        "fault",
        "add",
        "underlay-mtu",
        "--vm",
        v["name"],
        "--mtu",
        "1500",
        "--name",
        neutron_lab["name"],
        env=neutron_lab["env"],
    )
    assert r.rc == 2 and "still carries the vxlan network" in r.err


def test_ovs_agent_down_is_seen_dead_then_alive(neutron_lab, net):
    node = "compute-2"
    pid = neutron_lab["state"]["extra"]["neutron"]["procs"][f"ovs-agent-{node}"]["pid"]
    assert agent_alive(net, node, "neutron-openvswitch-agent")
    fid, desc = add_fault(neutron_lab, "ovs-agent-down", "--node", node)
    try:
        assert proc_state(pid) == "T" and str(pid) in desc
        eventually(
            lambda: agent_alive(net, node, "neutron-openvswitch-agent"),
            lambda a: not a,
            timeout=AGENT_DEAD_WITHIN,
            what=f"Neutron reports the OVS agent on {node} dead",
        )
    finally:
        remove_fault(neutron_lab, fid)
    assert proc_state(pid) != "T"
    eventually(
        lambda: agent_alive(net, node, "neutron-openvswitch-agent"),
        bool,
        timeout=AGENT_DEAD_WITHIN,
        what=f"the OVS agent on {node} alive again",
    )


def test_port_admin_down_goes_down_and_dead_vlan(neutron_lab, net):
    v = vm_where(neutron_lab, "vlan", "compute-2")
    tag = ovs_tag(neutron_lab, v)
    fid, _ = add_fault(neutron_lab, "port-admin-down", "--vm", v["name"])
    try:
        assert net.get_port(v["port_id"]).is_admin_state_up is False
        eventually(lambda: net.get_port(v["port_id"]).status, lambda s: s == "DOWN", timeout=20, what="port DOWN")
        # what the OVS agent really does: the port moves to the dead VLAN 4095 (and table 0 drops its traffic)
        eventually(lambda: ovs_tag(neutron_lab, v), lambda t: t == "4095", timeout=20, what="tag 4095")
        assert not ping(v["namespace"], v["dhcp_server"], count=2)
    finally:
        remove_fault(neutron_lab, fid)
    eventually(lambda: net.get_port(v["port_id"]).status, lambda s: s == "ACTIVE", timeout=30, what="ACTIVE")
    eventually(lambda: ovs_tag(neutron_lab, v), lambda t: t == tag, timeout=20, what=f"tag {tag} back")
    healthy(neutron_lab, v)


def test_port_bound_elsewhere_fails_binding_and_is_rebound(neutron_lab, net):
    v = vm_where(neutron_lab, "vxlan", "compute-2")
    fid, desc = add_fault(neutron_lab, "port-bound-elsewhere", "--vm", v["name"])
    try:
        port = net.get_port(v["port_id"])
        assert port.binding_host_id == f"{v['node']}-gone" and port.binding_vif_type == "binding_failed"
        eventually(lambda: net.get_port(v["port_id"]).status, lambda s: s == "DOWN", timeout=20, what="port DOWN")
        # the agent on the real node loses the port: dead VLAN, no traffic
        eventually(lambda: ovs_tag(neutron_lab, v), lambda t: t == "4095", timeout=20, what="tag 4095")
        assert not ping(v["namespace"], v["dhcp_server"], count=2)
    finally:
        remove_fault(neutron_lab, fid)  # waits (bounded) until the port is ACTIVE again
    port = net.get_port(v["port_id"])
    assert port.binding_host_id == v["node"] and port.binding_vif_type == "ovs" and port.status == "ACTIVE"
    healthy(neutron_lab, v)


def test_vm_spoofing_is_dropped_by_the_ovs_firewall(neutron_lab, net):
    v = vm_where(neutron_lab, "vxlan", "compute-1")
    spoofed = v["fixed_ip"].rsplit(".", 1)[0] + ".250"
    fid, desc = add_fault(neutron_lab, "vm-spoofing", "--vm", v["name"])
    try:
        assert addresses(v["namespace"]) == [spoofed] and spoofed in desc
        # the wire next to the VM sees its packets from the wrong source ...
        cap = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                node_ns(neutron_lab, v["node"]),
                "tcpdump",
                "-n",
                "-l",
                "-c",
                "2",
                "-i",
                v["ovs_port"],
                f"icmp and src host {spoofed}",
            ],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert cap.stdout.count(f"{spoofed} > {v['dhcp_server']}: ICMP echo request") == 2, cap.stdout + cap.stderr
        # ... and they never reach the DHCP server: the VM gets no replies
        assert not ping(v["namespace"], v["dhcp_server"], count=2)
    finally:
        remove_fault(neutron_lab, fid)
    assert addresses(v["namespace"]) == [v["fixed_ip"]]
    healthy(neutron_lab, v)


def test_vm_spoofing_of_an_unknown_vm_is_a_usage_error(neutron_lab):
    r = steth(
        "lab", "fault", "add", "vm-spoofing", "--vm", "vm99", "--name", neutron_lab["name"], env=neutron_lab["env"]
    )
    assert r.rc == 2 and "no VM 'vm99'" in r.err and "vm1" in r.err


def test_kinds_list_the_new_kinds(neutron_lab):
    r = steth("lab", "fault", "kinds", "-f", "json", env=neutron_lab["env"])
    rows = {row["kind"]: row for row in r.json()}
    for name in (
        "sg-missing-rule",
        "underlay-mtu",
        "ovs-agent-down",
        "l3-agent-down",
        "port-admin-down",
        "port-bound-elsewhere",
        "vm-spoofing",
    ):
        assert rows[name]["description"]
    assert rows["underlay-mtu"]["needs"] == "--vm [--mtu]"


# ---- the router: L3 agent, gateway, interfaces, NAT, floating IP ----------------------

ROUTER_HEALS = 60.0  # the L3 agent rebuilds the router's namespace on the update


def ext(lab) -> dict:
    return lab["state"]["extra"]["neutron"]["external"]


def fip_of(lab, name: str = "vm1") -> dict:
    return lab["state"]["extra"]["neutron"]["floating_ips"][name]


def internet_ok(v: dict, lab) -> bool:
    return ping(v["namespace"], ext(lab)["internet_host"])


def fip_reachable(lab, name: str = "vm1") -> bool:
    """The internet reaches the VM behind its floating IP (DNAT): the reply comes one hop away (TTL 63).
    The router's namespace holds the floating IP itself, so without DNAT it answers (TTL 64)."""
    r = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ext(lab)["namespace"],
            "ping",
            "-n",
            "-c",
            "1",
            "-W",
            "1",
            fip_of(lab, name)["address"],
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return r.returncode == 0 and "ttl=63" in r.stdout


def qrouter_nat(lab) -> list:
    from steth.lab.faults.l3 import nat_rules

    ns = f"qrouter-{lab['state']['extra']['neutron']['router']['id']}"
    out = subprocess.run(["ip", "netns", "exec", ns, "iptables-save", "-t", "nat"], capture_output=True, text=True)
    return nat_rules(out.stdout)


def ensure_router_namespace(lab, router_id: str) -> None:
    """Another lab's L3 agent, when it starts, deletes every qrouter-* namespace of the host that is not
    one of its routers (neutron.agent.l3.namespace_manager): with labs built concurrently on one machine
    ours can vanish. Rebuild it as an operator would: router admin down, then up."""
    import openstack

    ns = f"qrouter-{router_id}"
    if ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout:
        return
    port = lab["state"]["extra"]["neutron"]["ports"]["api"]
    net = openstack.connection.Connection(
        auth_type="none", region_name="RegionOne", network_endpoint_override=f"http://127.0.0.1:{port}/"
    ).network
    net.update_router(router_id, is_admin_state_up=False)
    eventually(
        lambda: subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout,
        lambda out: ns not in out,
        timeout=30,
        what=f"{ns} gone",
    )
    net.update_router(router_id, is_admin_state_up=True)
    eventually(
        lambda: subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout,
        lambda out: ns in out,
        timeout=60,
        what=f"{ns} rebuilt",
    )


@pytest.fixture
def routed(neutron_lab):
    """The lab's router works before the test (SNAT from vm2's network, DNAT to vm1's floating IP)."""
    router = neutron_lab["state"]["extra"]["neutron"].get("router")
    if not router:
        pytest.skip("this lab has no router")
    ensure_router_namespace(neutron_lab, router["id"])
    v = vm_where(neutron_lab, "vxlan", "compute-1")
    eventually(lambda: internet_ok(v, neutron_lab), bool, timeout=ROUTER_HEALS, what="SNAT works")
    eventually(lambda: fip_reachable(neutron_lab), bool, timeout=ROUTER_HEALS, what="DNAT works")
    return v


def test_l3_agent_down_is_seen_dead_then_alive(neutron_lab, net):
    if "l3-agent-network" not in neutron_lab["state"]["extra"]["neutron"]["procs"]:
        pytest.skip("this lab has no L3 agent")
    fid, _ = add_fault(neutron_lab, "l3-agent-down")
    try:
        eventually(
            lambda: agent_alive(net, "network", "neutron-l3-agent"),
            lambda a: not a,
            timeout=AGENT_DEAD_WITHIN,
            what="Neutron reports the L3 agent dead",
        )
    finally:
        remove_fault(neutron_lab, fid)
    eventually(
        lambda: agent_alive(net, "network", "neutron-l3-agent"),
        bool,
        timeout=AGENT_DEAD_WITHIN,
        what="the L3 agent alive again",
    )


def test_router_gateway_removed_stops_snat_and_comes_back_with_the_same_address(neutron_lab, net, routed):
    router = neutron_lab["state"]["extra"]["neutron"]["router"]
    fid, desc = add_fault(neutron_lab, "router-gateway-removed")
    try:
        assert not net.get_router(router["id"]).external_gateway_info
        assert net.get_ip(fip_of(neutron_lab)["id"]).port_id is None  # Neutron requires it for the gateway
        assert router["gateway_ip"] in desc
        eventually(
            lambda: internet_ok(routed, neutron_lab),
            lambda ok: not ok,
            timeout=ROUTER_HEALS,
            what="no SNAT without a gateway",
        )
    finally:
        remove_fault(neutron_lab, fid)
    gw = net.get_router(router["id"]).external_gateway_info
    assert [ip["ip_address"] for ip in gw["external_fixed_ips"]] == [router["gateway_ip"]]
    assert net.get_ip(fip_of(neutron_lab)["id"]).port_id == fip_of(neutron_lab)["port_id"]
    eventually(lambda: internet_ok(routed, neutron_lab), bool, timeout=ROUTER_HEALS, what="SNAT back")
    eventually(lambda: fip_reachable(neutron_lab), bool, timeout=ROUTER_HEALS, what="DNAT back")


@pytest.mark.parametrize("network_", ["vxlan", "vlan"])
def test_subnet_detached_cuts_the_vms_from_their_gateway(neutron_lab, net, routed, network_):
    v = vm_where(neutron_lab, network_)
    router_id = neutron_lab["state"]["extra"]["neutron"]["router"]["id"]
    gateway = v["router"]
    assert ping(v["namespace"], gateway)
    fid, desc = add_fault(neutron_lab, "subnet-detached", "--network", network_)
    try:
        assert not [p for p in net.ports(device_id=router_id) if any(ip["ip_address"] == gateway for ip in p.fixed_ips)]
        assert gateway in desc
        eventually(
            lambda: ping(v["namespace"], gateway),
            lambda ok: not ok,
            timeout=ROUTER_HEALS,
            what=f"{v['name']} loses its gateway",
        )
        assert not internet_ok(v, neutron_lab)
        if network_ == "vlan":  # vm1's floating IP used that interface: disassociated first
            assert "disassociated first" in desc and net.get_ip(fip_of(neutron_lab)["id"]).port_id is None
    finally:
        remove_fault(neutron_lab, fid)
    eventually(lambda: ping(v["namespace"], gateway), bool, timeout=ROUTER_HEALS, what="gateway back")
    eventually(lambda: internet_ok(v, neutron_lab), bool, timeout=ROUTER_HEALS, what="SNAT back")
    assert net.get_ip(fip_of(neutron_lab)["id"]).port_id == fip_of(neutron_lab)["port_id"]
    eventually(lambda: fip_reachable(neutron_lab), bool, timeout=ROUTER_HEALS, what="DNAT back")


def test_fip_disassociated_and_reassociated_to_the_same_port(neutron_lab, net, routed):
    fip = fip_of(neutron_lab)
    fixed = net.get_ip(fip["id"]).fixed_ip_address
    fid, desc = add_fault(neutron_lab, "fip-disassociated", "--vm", "vm1")
    try:
        assert net.get_ip(fip["id"]).port_id is None and fip["address"] in desc
        eventually(
            lambda: fip_reachable(neutron_lab),
            lambda ok: not ok,
            timeout=ROUTER_HEALS,
            what="the floating IP unreachable",
        )
    finally:
        remove_fault(neutron_lab, fid)
    back = net.get_ip(fip["id"])
    assert (back.port_id, back.fixed_ip_address) == (fip["port_id"], fixed)
    eventually(lambda: fip_reachable(neutron_lab), bool, timeout=ROUTER_HEALS, what="DNAT back")


def test_nat_removed_stops_snat_and_dnat_and_restores_the_same_rules(neutron_lab, routed):
    before = qrouter_nat(neutron_lab)
    assert any(c == "neutron-l3-agent-snat" for c, _, _ in before) and any("DNAT" in s for _, _, s in before)
    fid, desc = add_fault(neutron_lab, "nat-removed")
    try:
        assert qrouter_nat(neutron_lab) == [] and "conntrack flushed" in desc
        assert not internet_ok(routed, neutron_lab)
        assert not fip_reachable(neutron_lab)
    finally:
        remove_fault(neutron_lab, fid)
    assert qrouter_nat(neutron_lab) == before  # the same rules at the same places
    assert internet_ok(routed, neutron_lab) and fip_reachable(neutron_lab)


# ---- underlay kinds aimed at the path between a VM's compute node and the network node ----


@pytest.mark.parametrize("network_", ["vlan", "vxlan"])
def test_underlay_kinds_cut_the_vm_from_the_network_node(neutron_lab, network_):
    """vlan-prune (toward the VM's node, on its VLAN) and vxlan-block (VM's node -> network node) need no
    new parameters: --node is the VM's compute node, --to the network node."""
    v = vm_where(neutron_lab, network_)
    if network_ == "vlan":
        args = ("vlan-prune", "--node", v["node"], "--vlans", "101")
    else:
        args = ("vxlan-block", "--node", v["node"], "--to", "network")
    assert ping(v["namespace"], v["dhcp_server"])
    fid, _ = add_fault(neutron_lab, *args)
    try:
        assert not ping(v["namespace"], v["dhcp_server"], count=2)
    finally:
        remove_fault(neutron_lab, fid)
    healthy(neutron_lab, v)
