"""Fault kinds of the Neutron lab (`steth lab up --neutron`): imported by faults.py, which registers them.

Each kind records the undo of every change before making it: host changes as host/undo.py steps,
Neutron API changes as lab/neutron_undo.py steps (``update_port`` back, a group deleted by name,
a bounded wait until a port is ACTIVE again). VMs are the lab's records in
``state.extra["neutron"]["vms"]``; processes in ``state.extra["neutron"]["procs"]``.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from collections.abc import Callable
from typing import Any

from ..errors import LabError, UsageError
from ..host import netlink, proc, undo
from ..wire import encap
from . import neutron_undo
from .faults import FaultContext, kind

UNDERLAY_MARGIN = 100  # how far below the need underlay-mtu goes by default
SPOOF_HOST = 250  # vm-spoofing's address: this host number in the VM's subnet
SPOOF_PINGS = ("-c", "600", "-i", "0.5")  # bounded: it stops by itself after 5 minutes


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


def spoof_address(cidr: str, host: int = SPOOF_HOST) -> ipaddress.IPv4Interface:
    """The address vm-spoofing gives the VM: host number ``host`` in the subnet, with its prefix."""
    net = ipaddress.ip_network(cidr)
    if net.version != 4 or not 0 < host < net.num_addresses - 1:
        raise LabError(f"subnet {cidr} has no host .{host} for vm-spoofing")
    return ipaddress.ip_interface(f"{net.network_address + host}/{net.prefixlen}")


# ---- lookups ---------------------------------------------------------------------


def neutron_rec(ctx: FaultContext) -> dict[str, Any]:
    rec = ctx.state.extra.get("neutron")
    if not rec:
        raise UsageError(f"lab {ctx.state.lab} has no Neutron", "build it with `steth lab up --neutron`")
    return rec


def lab_vm(ctx: FaultContext) -> dict[str, Any]:
    name = ctx.params["vm"]
    vms = neutron_rec(ctx).get("vms", [])
    for vm in vms:
        if vm["name"] == name:
            return vm
    raise UsageError(f"lab {ctx.state.lab} has no VM {name!r}", f"VMs: {', '.join(v['name'] for v in vms)}")


def neutron_network(ctx: FaultContext) -> str:
    kind_ = ctx.params["network"]
    nets = neutron_rec(ctx).get("networks", {})
    if kind_ not in nets:
        raise UsageError(f"--network must be one of the Neutron lab's networks: {', '.join(sorted(nets))}")
    return nets[kind_]


def vsctl(ctx: FaultContext, node: str) -> list[str]:
    from .neutron import ovs_rundir

    return ["ovs-vsctl", f"--db=unix:{ovs_rundir(ctx.state, node)}/db.sock", "--timeout=10"]


def conn(ctx: FaultContext) -> Any:
    from .neutron import connection

    neutron_rec(ctx)
    return connection(ctx.state)


def api(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One Neutron API call; an SDK error becomes a LabError naming what was being done."""
    from openstack import exceptions as osexc

    try:
        return call(*args, **kwargs)
    except osexc.SDKException as exc:
        raise LabError(f"Neutron API: {what} failed: {exc}") from exc


def claim(ctx: FaultContext, resource: str) -> None:
    """One fault at a time per resource (an agent, a link's MTU): two would undo each other's change
    in the wrong order. The claim is kept in the fault's record."""
    for other in ctx.state.faults:
        if other is not ctx.fault and resource in other.get("claims", []):
            raise UsageError(
                f"{resource} is already changed by fault {other['id']} ({other['kind']})",
                f"remove it first: steth lab fault remove {other['id']}",
            )
    ctx.fault.setdefault("claims", []).append(resource)


# ---- existing Neutron kinds (DHCP path) ------------------------------------------


@kind(
    "dnsmasq-stopped",
    "freeze the Neutron network's dnsmasq (SIGSTOP: alive but silent; --network vlan|vxlan)",
    params=("network",),
)
def _dnsmasq_stopped(ctx: FaultContext) -> str:
    net_id = neutron_network(ctx)
    pidfile = os.path.join(neutron_rec(ctx)["dir"], "state-network", "dhcp", net_id, "pid")
    try:
        with open(pidfile) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError) as exc:
        raise LabError(f"no dnsmasq for network {net_id}: {exc}") from exc
    ctx.record(undo.argv(["kill", "-CONT", str(pid)]))
    ctx.run(["kill", "-STOP", str(pid)], None)
    return f"dnsmasq (pid {pid}) of network {net_id} stopped (SIGSTOP)"


@kind("vxlan-block", "drop VXLAN (UDP 4789) from --node to --to on the tenant switch", params=("node", "to"))
def _vxlan_block(ctx: FaultContext) -> str:
    from .neutron import tunnel_ip

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


def plug_argv(ctx: FaultContext, vm: dict[str, Any], tag: str = "") -> list[str]:
    """ovs-vsctl adding the VM's interface to br-int as nova/os-vif does (external_ids for the agent)."""
    cmd, port = vsctl(ctx, vm["node"]), vm["ovs_port"]
    argv = [
        *cmd,
        "--",
        "--may-exist",
        "add-port",
        "br-int",
        port,
        "--",
        "set",
        "Interface",
        port,
        f"external_ids:iface-id={vm['port_id']}",
        f"external_ids:attached-mac={vm['mac']}",
        "external_ids:iface-status=active",
        f"external_ids:vm-uuid={vm['device_id']}",
    ]
    if tag.isdigit():
        argv += ["--", "set", "Port", port, f"tag={tag}"]
    return argv


@kind("port-unplugged", "remove a VM's port (qvo or tap) from br-int", params=("vm",))
def _port_unplugged(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    cmd = vsctl(ctx, vm["node"])
    port = vm["ovs_port"]
    tag = proc.run([*cmd, "get", "Port", port, "tag"], timeout=15).stdout.strip()
    ctx.record(undo.argv(plug_argv(ctx, vm, tag)))
    ctx.run([*cmd, "del-port", "br-int", port], None)
    return f"{vm['name']}: {port} removed from br-int on {vm['node']}"


@kind(
    "port-wrong-tag",
    "give a VM's br-int port a wrong VLAN tag (--tag, default 4094)",
    params=("vm",),
    optional=("tag",),
)
def _port_wrong_tag(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    cmd = vsctl(ctx, vm["node"])
    port = vm["ovs_port"]
    new = int(ctx.params.get("tag") or 4094)
    if not 1 <= new <= 4095:
        raise UsageError(f"--tag {new} is out of range 1-4095")
    old = proc.run([*cmd, "get", "Port", port, "tag"], timeout=15).stdout.strip()
    ctx.record(
        undo.argv([*cmd, "set", "Port", port, f"tag={old}"] if old.isdigit() else [*cmd, "clear", "Port", port, "tag"])
    )
    ctx.run([*cmd, "set", "Port", port, f"tag={new}"], None)
    return f"{vm['name']}: {port} tag {old} -> {new} on {vm['node']}"


@kind("rogue-dhcp", "a foreign dnsmasq on br-int next to --vm, on its VLAN, offering 10.66.0.0/24", params=("vm",))
def _rogue_dhcp(ctx: FaultContext) -> str:
    from pyroute2 import netns as pnetns

    vm = lab_vm(ctx)
    node = ctx.topo.node(vm["node"])
    node_ns = ctx.topo.node_ns(node)
    cmd = vsctl(ctx, vm["node"])
    tag = proc.run([*cmd, "get", "Port", vm["ovs_port"], "tag"], timeout=15).stdout.strip()
    if not tag.isdigit():
        raise LabError(f"{vm['ovs_port']} has no VLAN tag on br-int")
    ns = f"{ctx.topo.prefix}-rogue-{ctx.fault['id']}"
    if ns in pnetns.listnetns():
        raise LabError(f"network namespace {ns} already exists")
    outer = f"rg{ctx.fault['id']}-{vm['name']}"[:15]
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
    return f"rogue dnsmasq 10.66.0.1 on br-int of {vm['node']} (VLAN tag {tag}, next to {vm['name']})"


# ---- security groups and ports (Neutron API) -------------------------------------


@kind(
    "sg-missing-rule",
    "replace a VM port's security groups by a new one without any rule (no egress, "
    "no ingress: the VM can neither send out nor be pinged)",
    params=("vm",),
)
def _sg_missing_rule(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm['port_id']}", net.get_port, vm["port_id"])
    if port.is_port_security_enabled is False:
        raise LabError(f"{vm['name']}'s port {port.id} has port security disabled: security groups do not apply")
    claim(ctx, f"security groups of {vm['name']}'s port")
    old = list(port.security_group_ids or [])
    name = f"{ctx.state.lab}-{ctx.fault['id']}-empty"
    ctx.record(neutron_undo.delete_named(ctx.state, "security_group", name))
    group = api(
        f"creating security group {name}",
        net.create_security_group,
        name=name,
        description=f"steth lab fault {ctx.fault['id']}: no rules",
    )
    for rule in group.security_group_rules or []:  # Neutron adds egress-anything rules to every new group
        api(f"deleting rule {rule['id']} of {name}", net.delete_security_group_rule, rule["id"])
    ctx.record(neutron_undo.step(ctx.state, "update_port", port.id, security_group_ids=old))
    api(f"updating port {port.id}", net.update_port, port.id, security_group_ids=[group.id])
    return f"{vm['name']}: port {port.id} security groups {','.join(old) or 'none'} -> {name} ({group.id}, no rules)"


@kind("port-admin-down", "set a VM's port administratively down (admin_state_up=False)", params=("vm",))
def _port_admin_down(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm['port_id']}", net.get_port, vm["port_id"])
    if not port.is_admin_state_up:
        raise UsageError(f"{vm['name']}'s port {port.id} is already administratively down")
    ctx.record(neutron_undo.step(ctx.state, "update_port", port.id, is_admin_state_up=True))
    api(f"updating port {port.id}", net.update_port, port.id, is_admin_state_up=False)
    return f"{vm['name']}: port {port.id} admin_state_up True -> False"


@kind(
    "port-bound-elsewhere",
    "bind a VM's port to a host without any agent (<node>-gone): the binding fails",
    params=("vm",),
)
def _port_bound_elsewhere(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm['port_id']}", net.get_port, vm["port_id"])
    claim(ctx, f"binding of {vm['name']}'s port")
    old, gone = port.binding_host_id or vm["node"], f"{vm['node']}-gone"
    # undone in reverse: bound back to its node, the VIF plugged again as nova does after a host change
    # (seen once: the agent left a rebound port DOWN for over 60 s when only the binding changed back),
    # then (bounded) until the agent has wired it again
    ctx.record(neutron_undo.wait_port(ctx.state, port.id, "ACTIVE", timeout=60))
    ctx.record(undo.argv(plug_argv(ctx, vm)))
    ctx.record(undo.argv([*vsctl(ctx, vm["node"]), "--if-exists", "del-port", "br-int", vm["ovs_port"]]))
    ctx.record(neutron_undo.step(ctx.state, "update_port", port.id, binding_host_id=old))
    api(f"updating port {port.id}", net.update_port, port.id, binding_host_id=gone)
    return f"{vm['name']}: port {port.id} binding:host_id {old} -> {gone} (no agent there)"


# ---- underlay ------------------------------------------------------------------


@kind(
    "underlay-mtu",
    "lower the MTU of the tenant uplink (eth1, port of br-tenant) on a VM's compute node below "
    "what its network needs (default: network MTU + encapsulation overhead - 100)",
    params=("vm",),
    optional=("mtu",),
)
def _underlay_mtu(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net_id = neutron_rec(ctx)["networks"][vm["network"]]
    network = api(f"reading network {net_id}", conn(ctx).network.get_network, net_id)
    ntype, nmtu = network.provider_network_type or vm["network"], int(network.mtu)
    mtu = int(ctx.params.get("mtu") or default_underlay_mtu(ntype, nmtu))
    check_underlay_mtu(mtu, ntype, nmtu)
    node = ctx.topo.node(vm["node"])
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
        f"{vm['name']}'s {ntype} network (MTU {nmtu}) needs {underlay_need(ntype, nmtu)}"
    )


# ---- agents --------------------------------------------------------------------


def freeze(ctx: FaultContext, proc_name: str, what: str, hint: str) -> str:
    """SIGSTOP a recorded lab process (alive but silent: Neutron marks its agent dead); undo SIGCONT."""
    data = neutron_rec(ctx).get("procs", {}).get(proc_name)
    if not data:
        raise LabError(f"lab {ctx.state.lab} has no recorded process {proc_name}", hint)
    rec = proc.ProcRecord.from_json(data)
    if not proc.is_running(rec):
        raise LabError(f"{what} ({proc_name}, pid {rec.pid}) is not running", "see `steth lab status`")
    claim(ctx, proc_name)
    ctx.record(undo.argv(["kill", "-CONT", str(rec.pid)]))
    os.kill(rec.pid, signal.SIGSTOP)
    return f"{what} (pid {rec.pid}) stopped (SIGSTOP): Neutron marks it dead after agent_down_time"


@kind(
    "ovs-agent-down",
    "freeze a node's neutron-openvswitch-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=("node",),
)
def _ovs_agent_down(ctx: FaultContext) -> str:
    node = ctx.node
    return freeze(
        ctx,
        f"ovs-agent-{node.name}",
        f"neutron-openvswitch-agent on {node.name}",
        "build the lab with `steth lab up --neutron`",
    )


@kind(
    "l3-agent-down", "freeze the network node's neutron-l3-agent (SIGSTOP; Neutron shows it dead after 11 s)", params=()
)
def _l3_agent_down(ctx: FaultContext) -> str:
    return freeze(
        ctx,
        "l3-agent-network",
        "neutron-l3-agent on network",
        "this lab has no L3 agent (router); rebuild it with a steth that runs one",
    )


@kind(
    "flood-flows-removed",
    "delete the flood flows of a VXLAN VM's network from br-tun table 22 on its node "
    "(as after an OVS restart the agent did not notice): broadcasts such as DHCP stop at the tunnel",
    params=("vm",),
)
def _flood_flows_removed(ctx: FaultContext) -> str:
    from .neutron import ovs_rundir

    vm = lab_vm(ctx)
    if vm["network"] != "vxlan":
        raise UsageError(
            f"{vm['name']} is on the {vm['network']} network: flood flows are a tunnel's",
            "give a VM of the vxlan network",
        )
    tag = proc.run([*vsctl(ctx, vm["node"]), "get", "Port", vm["ovs_port"], "tag"], timeout=15).stdout.strip()
    if not tag.isdigit():
        raise LabError(f"{vm['ovs_port']} on {vm['node']} has no local VLAN tag")
    claim(ctx, f"{vm['node']} br-tun flood flows of VLAN {tag}")
    ofctl = ["ovs-ofctl", "-t", "10"]
    bridge = f"unix:{ovs_rundir(ctx.state, vm['node'])}/br-tun.mgmt"
    match = f"table=22,dl_vlan={tag}"
    dumped = proc.run([*ofctl, "dump-flows", "--no-stats", bridge, match], timeout=15)
    flows = [ln.strip() for ln in dumped.stdout.splitlines() if "actions=" in ln]
    if dumped.returncode != 0 or not flows:
        raise LabError(
            f"no flood flow for local VLAN {tag} in br-tun table 22 on {vm['node']}: "
            f"{(dumped.stderr or dumped.stdout).strip()[:200]}"
        )
    for flow in flows:  # put back exactly as dumped
        ctx.record(undo.argv([*ofctl, "add-flow", bridge, flow]))
    ctx.run([*ofctl, "del-flows", bridge, match], None)
    return f"{vm['node']} br-tun table 22: {len(flows)} flood flow(s) of local VLAN {tag} deleted: {flows[0]}"


# ---- the VM itself -------------------------------------------------------------


def _dhcp_port(net: Any, network_id: str, address: str) -> Any:
    for port in net.ports(network_id=network_id, device_owner="network:dhcp"):
        if any(ip["ip_address"] == address for ip in port.fixed_ips):
            return port
    raise LabError(f"no DHCP port with address {address} on network {network_id}")


def _default_gateway(ns: str) -> str | None:
    with netlink.iproute(ns) as ipr:
        for route in ipr.get_routes(family=2, table=254):
            if route.get("dst_len") == 0 and route.get_attr("RTA_GATEWAY"):
                return route.get_attr("RTA_GATEWAY")
    return None


@kind(
    "vm-spoofing",
    f"a VM sends from an address not on its port (host .{SPOOF_HOST} of its subnet, pinging its "
    "DHCP server for 5 minutes): the OVS firewall drops it",
    params=("vm",),
)
def _vm_spoofing(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    claim(ctx, f"addresses of {vm['name']}")
    net = conn(ctx).network
    port = api(f"reading port {vm['port_id']}", net.get_port, vm["port_id"])
    fixed = port.fixed_ips[0]
    subnet = api(f"reading subnet {fixed['subnet_id']}", net.get_subnet, fixed["subnet_id"])
    spoof = spoof_address(subnet.cidr)
    users = [p.id for p in net.ports(fixed_ips=[f"ip_address={spoof.ip}"]) if p.network_id == port.network_id]
    if users:
        raise LabError(f"{spoof.ip} is a Neutron port's address ({', '.join(users)}): not a spoofed one")
    target = vm.get("dhcp_server") or ""
    dhcp = _dhcp_port(net, port.network_id, target)
    ns, prefix, ip = vm["namespace"], spoof.network.prefixlen, fixed["ip_address"]
    gateway = _default_gateway(ns)
    if gateway:  # undone after the fixed address is back (a route needs its address first)
        ctx.record(undo.argv(["ip", "route", "replace", "default", "via", gateway], ns))
    ctx.record(undo.addr_add("eth0", ip, prefix, ns))
    with netlink.iproute(ns) as ipr:
        ipr.addr("del", index=ipr.link_lookup(ifname="eth0")[0], address=ip, prefixlen=prefix)
    ctx.record(undo.addr_del("eth0", str(spoof.ip), prefix, ns))
    with netlink.iproute(ns) as ipr:
        ipr.addr("add", index=ipr.link_lookup(ifname="eth0")[0], address=str(spoof.ip), prefixlen=prefix)
    if gateway:
        ctx.run(["ip", "route", "replace", "default", "via", gateway], ns)
    # a static neighbour: the VM sends IP from the wrong address, not only ARP (which the firewall drops too)
    ctx.record(undo.argv(["ip", "neigh", "del", target, "dev", "eth0"], ns))
    ctx.run(["ip", "neigh", "replace", target, "lladdr", dhcp.mac_address, "dev", "eth0", "nud", "permanent"], ns)
    rec = proc.spawn(
        ["ping", *SPOOF_PINGS, target],
        netns=ns,
        log_path=os.path.join(ctx.state.directory, f"spoof-{ctx.fault['id']}.log"),
    )
    ctx.record(undo.process(rec))
    return (
        f"{vm['name']}: eth0 {ip} -> {spoof.ip} (not on port {port.id}); ping to {target} from it "
        f"(pid {rec.pid}, {SPOOF_PINGS[1]} packets)"
    )


# ---- the router (the lab's L3 agent, external network and floating IP) ---------------

NAT_CHAINS = ("neutron-l3-agent-snat", "neutron-l3-agent-float-snat")  # every rule of these
DNAT_CHAINS = ("neutron-l3-agent-PREROUTING", "neutron-l3-agent-OUTPUT")  # their -j DNAT rules


def nat_rules(save: str) -> list[tuple[str, int, str]]:
    """The L3 agent's NAT rules in ``iptables-save -t nat`` output: (chain, 1-based position in the
    chain, rule spec after the chain name), in order. SNAT: every rule of the snat and float-snat
    chains; DNAT: the floating IPs' rules in the agent's PREROUTING and OUTPUT chains."""
    in_nat, seen, found = False, {}, []
    for line in save.splitlines():
        if line.startswith("*"):
            in_nat = line.strip() == "*nat"
            continue
        if not in_nat or not line.startswith("-A "):
            continue
        chain, _, spec = line[3:].partition(" ")
        seen[chain] = seen.get(chain, 0) + 1
        if chain in NAT_CHAINS or (chain in DNAT_CHAINS and " -j DNAT" in f" {spec}"):
            found.append((chain, seen[chain], spec))
    return found


def nat_delete_script(rules: list[tuple[str, int, str]]) -> str:
    """iptables-restore --noflush input deleting exactly these rules."""
    return "*nat\n" + "".join(f"-D {chain} {spec}\n" for chain, _, spec in rules) + "COMMIT\n"


def nat_restore_script(rules: list[tuple[str, int, str]]) -> str:
    """iptables-restore --noflush input putting the rules back where they were: inserted at their old
    positions in ascending order, each position is right once the rules before it are back."""
    ordered = sorted(rules, key=lambda r: (r[0], r[1]))
    return "*nat\n" + "".join(f"-I {chain} {pos} {spec}\n" for chain, pos, spec in ordered) + "COMMIT\n"


def router_rec(ctx: FaultContext) -> dict[str, Any]:
    router = neutron_rec(ctx).get("router")
    if not router or not router.get("id"):
        raise LabError(
            f"lab {ctx.state.lab} has no router",
            "rebuild the lab with a steth whose `lab up --neutron` makes one (L3 agent, external network)",
        )
    return router


def release_fips(ctx: FaultContext, net: Any, router_id: str, subnet_id: str | None = None) -> list[str]:
    """Disassociate the floating IPs that hold the router's gateway (or an interface on ``subnet_id``):
    Neutron refuses to remove either while a floating IP uses it. Re-associated last on undo."""
    released = []
    for fip in api("listing floating IPs", net.ips, router_id=router_id):
        if not fip.port_id:
            continue
        if subnet_id is not None:
            port = api(f"reading port {fip.port_id}", net.get_port, fip.port_id)
            if not any(ip["subnet_id"] == subnet_id for ip in port.fixed_ips):
                continue
        ctx.record(
            neutron_undo.step(
                ctx.state, "update_ip", fip.id, port_id=fip.port_id, fixed_ip_address=fip.fixed_ip_address
            )
        )
        api(f"disassociating floating IP {fip.floating_ip_address}", net.update_ip, fip.id, port_id=None)
        released.append(fip.floating_ip_address)
    return released


def _released(fips: list[str]) -> str:
    return f" (floating IP {', '.join(fips)} disassociated first: Neutron requires it)" if fips else ""


@kind(
    "router-gateway-removed",
    "clear the lab router's external gateway (no SNAT, no floating IPs; those on it are disassociated first)",
    params=(),
)
def _router_gateway_removed(ctx: FaultContext) -> str:
    router_id = router_rec(ctx)["id"]
    net = conn(ctx).network
    router = api(f"reading router {router_id}", net.get_router, router_id)
    gw = router.external_gateway_info or {}
    if not gw.get("network_id"):
        raise UsageError(f"router {router.name} has no external gateway to remove")
    again: dict[str, Any] = {"network_id": gw["network_id"]}
    if gw.get("external_fixed_ips"):  # the same address back, so the lab's records stay true
        again["external_fixed_ips"] = [
            {"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]} for ip in gw["external_fixed_ips"]
        ]
    if "enable_snat" in gw:
        again["enable_snat"] = gw["enable_snat"]
    fips = release_fips(ctx, net, router_id)
    ctx.record(neutron_undo.step(ctx.state, "update_router", router_id, external_gateway_info=again))
    api(f"clearing the gateway of router {router.name}", net.update_router, router_id, external_gateway_info={})
    addrs = ",".join(ip["ip_address"] for ip in again.get("external_fixed_ips", [])) or "?"
    return f"router {router.name}: external gateway {addrs} on network {gw['network_id']} removed{_released(fips)}"


@kind(
    "subnet-detached",
    "remove the lab router's interface on a tenant subnet (--network vlan|vxlan): its VMs lose their gateway",
    params=("network",),
)
def _subnet_detached(ctx: FaultContext) -> str:
    router_id = router_rec(ctx)["id"]
    network_id = neutron_network(ctx)
    net = conn(ctx).network
    subnet_id = neutron_rec(ctx).get("subnets", {}).get(ctx.params["network"])
    if not subnet_id:
        subnets = list(api(f"listing subnets of {network_id}", net.subnets, network_id=network_id))
        if not subnets:
            raise LabError(f"network {network_id} has no subnet")
        subnet_id = subnets[0].id
    attached = [
        p
        for p in api("listing router interfaces", net.ports, device_id=router_id)
        if any(ip["subnet_id"] == subnet_id for ip in p.fixed_ips)
    ]
    if not attached:
        raise UsageError(f"subnet {subnet_id} ({ctx.params['network']}) is not attached to the router")
    address = next(ip["ip_address"] for ip in attached[0].fixed_ips if ip["subnet_id"] == subnet_id)
    fips = release_fips(ctx, net, router_id, subnet_id)
    ctx.record(neutron_undo.step(ctx.state, "add_interface_to_router", router_id, subnet_id=subnet_id))
    api(
        f"removing subnet {subnet_id} from router {router_id}",
        net.remove_interface_from_router,
        router_id,
        subnet_id=subnet_id,
    )
    return (
        f"router {router_id}: interface {address} on subnet {subnet_id} ({ctx.params['network']}) "
        f"removed{_released(fips)}"
    )


@kind("fip-disassociated", "disassociate a VM's floating IP (the internet no longer reaches it)", params=("vm",))
def _fip_disassociated(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    fips = neutron_rec(ctx).get("floating_ips", {})
    if vm["name"] not in fips:
        raise UsageError(f"{vm['name']} has no floating IP", f"VMs with one: {', '.join(sorted(fips)) or 'none'}")
    net = conn(ctx).network
    fip = api(f"reading floating IP {fips[vm['name']]['id']}", net.get_ip, fips[vm["name"]]["id"])
    if not fip.port_id:
        raise UsageError(f"floating IP {fip.floating_ip_address} is not associated")
    ctx.record(
        neutron_undo.step(ctx.state, "update_ip", fip.id, port_id=fip.port_id, fixed_ip_address=fip.fixed_ip_address)
    )
    api(f"disassociating floating IP {fip.floating_ip_address}", net.update_ip, fip.id, port_id=None)
    return f"{vm['name']}: floating IP {fip.floating_ip_address} disassociated from {fip.fixed_ip_address}"


@kind(
    "nat-removed",
    "delete the L3 agent's SNAT and floating IP NAT rules in the router's namespace (saved; put back "
    "at their places on removal)",
    params=(),
)
def _nat_removed(ctx: FaultContext) -> str:
    router_id = router_rec(ctx)["id"]
    ns = f"qrouter-{router_id}"
    claim(ctx, f"{ns} NAT")
    save = proc.run(["iptables-save", "-t", "nat"], netns=ns, timeout=30)
    if save.returncode != 0:
        raise LabError(
            f"iptables-save in {ns} failed: {save.stderr.strip()}",
            "is the L3 agent up and the router built? see `steth lab status`",
        )
    rules = nat_rules(save.stdout)
    if not rules:
        raise LabError(f"no L3 agent NAT rules in {ns}", "the router has no gateway or the agent has not built it")
    saved = os.path.join(ctx.state.directory, f"nat-{ctx.fault['id']}.rules")
    ctx.record(undo.path(saved))
    with open(saved, "w") as fh:
        fh.write(nat_restore_script(rules))
    ctx.record(undo.argv(["iptables-restore", "--noflush", saved], ns))
    ctx.run(["iptables-restore", "--noflush"], ns, input=nat_delete_script(rules))
    # NAT is decided per connection: without this, flows already NATed would go on as before
    ctx.run(["conntrack", "-F"], ns)
    snat = sum(1 for r in rules if r[0] in NAT_CHAINS)
    return (
        f"router {router_id}: {snat} SNAT and {len(rules) - snat} DNAT rules deleted in {ns} "
        f"(saved in {saved}); conntrack flushed"
    )
