"""Fault kinds of the Neutron dataplane: DHCP servers, VXLAN, a VM's OVS port, tunnel flows, the underlay MTU."""

from __future__ import annotations

import os

from ...errors import LabError, UsageError
from ...host import netlink, proc, undo
from ...wire import encap
from ..neutron.ml2ovs.config import ovs_rundir, tunnel_ip
from .neutron_base import api, claim, conn, lab_vm, neutron_network, neutron_rec, plug_argv, vsctl
from .registry import FaultContext, kind

UNDERLAY_MARGIN = 100  # how far below the need underlay-mtu goes by default


# ---- pure helpers (unit-tested) -----------------------------------------------


def underlay_need(network_type: str, network_mtu: int) -> int:
    """MTU the underlay must carry for a network: its MTU plus the encapsulation overhead."""
    if network_type not in encap.known_types():
        raise LabError(f"unknown network type {network_type!r}", f"known: {', '.join(encap.known_types())}")
    return network_mtu + encap.overhead(network_type)


def default_underlay_mtu(network_type: str, network_mtu: int) -> int:
    """underlay-mtu's default: 100 bytes less than the network needs (1400 for VXLAN 1450, VLAN 1500)."""
    return underlay_need(network_type, network_mtu) - UNDERLAY_MARGIN


def check_underlay_mtu(mtu: int, network_type: str, network_mtu: int) -> None:
    """An underlay-mtu fault must really be too small, and an MTU the kernel accepts."""
    need = underlay_need(network_type, network_mtu)
    if not 68 <= mtu <= 65535:
        raise UsageError(f"--mtu {mtu} is out of range 68-65535")
    if mtu >= need:
        raise UsageError(
            f"--mtu {mtu} still carries the {network_type} network (MTU {network_mtu} needs {need} "
            "on the underlay): no fault",
            f"give less than {need}, or omit --mtu",
        )


# ---- existing Neutron kinds (DHCP path) ------------------------------------------


@kind(
    "dnsmasq-stopped",
    "freeze the Neutron network's dnsmasq (SIGSTOP: alive but silent; --network vlan|vxlan)",
    params=("network",),
    area="neutron",
)
def _dnsmasq_stopped(ctx: FaultContext) -> str:
    net_id = neutron_network(ctx)
    pidfile = os.path.join(neutron_rec(ctx).dir, "state-network", "dhcp", net_id, "pid")
    try:
        with open(pidfile) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError) as exc:
        raise LabError(f"no dnsmasq for network {net_id}: {exc}") from exc
    ctx.record(undo.argv(["kill", "-CONT", str(pid)]))
    ctx.run(["kill", "-STOP", str(pid)], None)
    return f"dnsmasq (pid {pid}) of network {net_id} stopped (SIGSTOP)"


@kind(
    "vxlan-block",
    "drop VXLAN (UDP 4789) from --node to --to on the tenant switch",
    params=("node", "to"),
    area="neutron",
)
def _vxlan_block(ctx: FaultContext) -> str:
    neutron_rec(ctx)
    src, dst = str(tunnel_ip(ctx.topo, ctx.node)), str(tunnel_ip(ctx.topo, ctx.peer))
    rule = [
        "FORWARD",
        "-p",
        "IPv4",
        "--ip-src",
        src,
        "--ip-dst",
        dst,
        "--ip-proto",
        "udp",
        "--ip-dport",
        "4789",
        "-j",
        "DROP",
    ]
    ctx.record(undo.argv(["ebtables", "-D", *rule], ctx.topo.switch_ns))
    ctx.run(["ebtables", "-A", *rule], ctx.topo.switch_ns)
    return f"VXLAN {src} -> {dst} ({ctx.node.name} -> {ctx.peer.name}) dropped on the tenant switch"


@kind("port-unplugged", "remove a VM's port (qvo or tap) from br-int", params=("vm",), area="neutron")
def _port_unplugged(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    cmd = vsctl(ctx, vm.node)
    port = vm.ovs_port
    tag = proc.run([*cmd, "get", "Port", port, "tag"], timeout=15).stdout.strip()
    ctx.record(undo.argv(plug_argv(ctx, vm, tag)))
    ctx.run([*cmd, "del-port", "br-int", port], None)
    return f"{vm.name}: {port} removed from br-int on {vm.node}"


@kind(
    "port-wrong-tag",
    "give a VM's br-int port a wrong VLAN tag (--tag, default 4094)",
    params=("vm",),
    optional=("tag",),
    area="neutron",
)
def _port_wrong_tag(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    cmd = vsctl(ctx, vm.node)
    port = vm.ovs_port
    new = int(ctx.params.get("tag") or 4094)
    if not 1 <= new <= 4095:
        raise UsageError(f"--tag {new} is out of range 1-4095")
    old = proc.run([*cmd, "get", "Port", port, "tag"], timeout=15).stdout.strip()
    ctx.record(
        undo.argv([*cmd, "set", "Port", port, f"tag={old}"] if old.isdigit() else [*cmd, "clear", "Port", port, "tag"])
    )
    ctx.run([*cmd, "set", "Port", port, f"tag={new}"], None)
    return f"{vm.name}: {port} tag {old} -> {new} on {vm.node}"


@kind(
    "rogue-dhcp",
    "a foreign dnsmasq on br-int next to --vm, on its VLAN, offering 10.66.0.0/24",
    params=("vm",),
    area="neutron",
)
def _rogue_dhcp(ctx: FaultContext) -> str:
    from pyroute2 import netns as pnetns

    vm = lab_vm(ctx)
    node = ctx.topo.node(vm.node)
    node_ns = ctx.topo.node_ns(node)
    cmd = vsctl(ctx, vm.node)
    tag = proc.run([*cmd, "get", "Port", vm.ovs_port, "tag"], timeout=15).stdout.strip()
    if not tag.isdigit():
        raise LabError(f"{vm.ovs_port} has no VLAN tag on br-int")
    ns = f"{ctx.topo.prefix}-rogue-{ctx.fault['id']}"
    if ns in pnetns.listnetns():
        raise LabError(f"network namespace {ns} already exists")
    outer = f"rg{ctx.fault['id']}-{vm.name}"[:15]
    ctx.record(undo.argv(["ip", "netns", "del", ns]))
    pnetns.create(ns)
    ctx.record(undo.argv([*cmd, "--if-exists", "del-port", "br-int", outer]))
    with netlink.iproute(node_ns) as ipr:
        ipr.link("add", ifname=outer, kind="veth", peer={"ifname": "eth0", "net_ns_fd": ns})
        ipr.link("set", index=ipr.link_lookup(ifname=outer)[0], state="up")
    with netlink.iproute(ns) as ipr:
        idx = ipr.link_lookup(ifname="eth0")[0]
        ipr.addr("add", index=idx, address="10.66.0.1", prefixlen=24)
        ipr.link("set", index=idx, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    ctx.run([*cmd, "add-port", "br-int", outer, f"tag={tag}"], None)
    leases = os.path.join(ctx.state.directory, f"rogue-{ctx.fault['id']}.leases")
    rec = proc.spawn(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "dnsmasq",
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--user=root",
            "--interface=eth0",
            "--bind-interfaces",
            "--dhcp-range=10.66.0.100,10.66.0.200,255.255.255.0,1h",
            f"--dhcp-leasefile={leases}",
            f"--pid-file={leases}.pid",
        ],
        log_path=os.path.join(ctx.state.directory, f"rogue-{ctx.fault['id']}.log"),
    )
    ctx.record(undo.path(leases))
    ctx.record(undo.process(rec))
    return f"rogue dnsmasq 10.66.0.1 on br-int of {vm.node} (VLAN tag {tag}, next to {vm.name})"


# ---- underlay ------------------------------------------------------------------


@kind(
    "underlay-mtu",
    "lower the MTU of the tenant uplink (eth1, port of br-tenant) on a VM's compute node below "
    "what its network needs (default: network MTU + encapsulation overhead - 100)",
    params=("vm",),
    optional=("mtu",),
    area="neutron",
)
def _underlay_mtu(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net_id = neutron_rec(ctx).networks[vm.network]
    network = api(f"reading network {net_id}", conn(ctx).network.get_network, net_id)
    ntype, nmtu = network.provider_network_type or vm.network, int(network.mtu)
    mtu = int(ctx.params.get("mtu") or default_underlay_mtu(ntype, nmtu))
    check_underlay_mtu(mtu, ntype, nmtu)
    node = ctx.topo.node(vm.node)
    ns, ifname = ctx.topo.node_ns(node), ctx.topo.networks[1].node_ifname
    claim(ctx, f"{node.name}/{ifname} MTU")
    old = ctx.link_mtu(ns, ifname)
    # Measured: eth1 alone is enough, both ways. Out: ovs-vswitchd's AF_PACKET send of a frame above
    # eth1's MTU fails ("error sending Ethernet packet on eth1: Message too long"), nothing is fragmented;
    # in: the veth drops frames above eth1's MTU (rx_dropped). OVS lowers br-tenant to its smallest
    # port's MTU by itself (and raises it back), so the node's own DF pings fail locally (EMSGSIZE).
    ctx.record(undo.link_set(ifname, ns, mtu=old))
    ctx.set_link(ns, ifname, mtu=mtu)
    return (
        f"{node.name} {ifname} (tenant underlay, port of br-tenant): MTU {old} -> {mtu}; "
        f"{vm.name}'s {ntype} network (MTU {nmtu}) needs {underlay_need(ntype, nmtu)}"
    )


@kind(
    "flood-flows-removed",
    "delete the flood flows of a VXLAN VM's network from br-tun table 22 on its node "
    "(as after an OVS restart the agent did not notice): broadcasts such as DHCP stop at the tunnel",
    params=("vm",),
    area="neutron",
)
def _flood_flows_removed(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    if vm.network != "vxlan":
        raise UsageError(
            f"{vm.name} is on the {vm.network} network: flood flows are a tunnel's",
            "give a VM of the vxlan network",
        )
    tag = proc.run([*vsctl(ctx, vm.node), "get", "Port", vm.ovs_port, "tag"], timeout=15).stdout.strip()
    if not tag.isdigit():
        raise LabError(f"{vm.ovs_port} on {vm.node} has no local VLAN tag")
    claim(ctx, f"{vm.node} br-tun flood flows of VLAN {tag}")
    ofctl = ["ovs-ofctl", "-t", "10"]
    bridge = f"unix:{ovs_rundir(ctx.state, vm.node)}/br-tun.mgmt"
    match = f"table=22,dl_vlan={tag}"
    dumped = proc.run([*ofctl, "dump-flows", "--no-stats", bridge, match], timeout=15)
    flows = [ln.strip() for ln in dumped.stdout.splitlines() if "actions=" in ln]
    if dumped.returncode != 0 or not flows:
        raise LabError(
            f"no flood flow for local VLAN {tag} in br-tun table 22 on {vm.node}: "
            f"{(dumped.stderr or dumped.stdout).strip()[:200]}"
        )
    for flow in flows:  # put back exactly as dumped
        ctx.record(undo.argv([*ofctl, "add-flow", bridge, flow]))
    ctx.run([*ofctl, "del-flows", bridge, match], None)
    return f"{vm.node} br-tun table 22: {len(flows)} flood flow(s) of local VLAN {tag} deleted: {flows[0]}"
