"""Fault kinds of a VM's Neutron port: security groups, admin state, binding, and a VM spoofing its address."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from ...errors import LabError, UsageError
from ...host import netlink, proc, undo
from . import neutron_undo
from .neutron_base import api, claim, conn, lab_vm, plug_argv, vsctl
from .registry import FaultContext, kind

SPOOF_HOST = 250  # vm-spoofing's address: this host number in the VM's subnet
SPOOF_PINGS = ("-c", "600", "-i", "0.5")  # bounded: it stops by itself after 5 minutes


def spoof_address(cidr: str, host: int = SPOOF_HOST) -> ipaddress.IPv4Interface:
    """The address vm-spoofing gives the VM: host number ``host`` in the subnet, with its prefix."""
    net = ipaddress.ip_network(cidr)
    if net.version != 4 or not 0 < host < net.num_addresses - 1:
        raise LabError(f"subnet {cidr} has no host .{host} for vm-spoofing")
    return ipaddress.ip_interface(f"{net.network_address + host}/{net.prefixlen}")


# ---- security groups and ports (Neutron API) -------------------------------------


@kind(
    "sg-missing-rule",
    "replace a VM port's security groups by a new one without any rule (no egress, "
    "no ingress: the VM can neither send out nor be pinged)",
    params=("vm",),
    area="neutron",
)
def _sg_missing_rule(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm.port_id}", net.get_port, vm.port_id)
    if port.is_port_security_enabled is False:
        raise LabError(f"{vm.name}'s port {port.id} has port security disabled: security groups do not apply")
    claim(ctx, f"security groups of {vm.name}'s port")
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
    return f"{vm.name}: port {port.id} security groups {','.join(old) or 'none'} -> {name} ({group.id}, no rules)"


@kind("port-admin-down", "set a VM's port administratively down (admin_state_up=False)", params=("vm",), area="neutron")
def _port_admin_down(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm.port_id}", net.get_port, vm.port_id)
    if not port.is_admin_state_up:
        raise UsageError(f"{vm.name}'s port {port.id} is already administratively down")
    ctx.record(neutron_undo.step(ctx.state, "update_port", port.id, is_admin_state_up=True))
    api(f"updating port {port.id}", net.update_port, port.id, is_admin_state_up=False)
    return f"{vm.name}: port {port.id} admin_state_up True -> False"


@kind(
    "port-bound-elsewhere",
    "bind a VM's port to a host without any agent (<node>-gone): the binding fails",
    params=("vm",),
    area="neutron",
)
def _port_bound_elsewhere(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    net = conn(ctx).network
    port = api(f"reading port {vm.port_id}", net.get_port, vm.port_id)
    claim(ctx, f"binding of {vm.name}'s port")
    old, gone = port.binding_host_id or vm.node, f"{vm.node}-gone"
    # undone in reverse: bound back to its node, the VIF plugged again as nova does after a host change
    # (seen once: the agent left a rebound port DOWN for over 60 s when only the binding changed back),
    # then (bounded) until the agent has wired it again
    ctx.record(neutron_undo.wait_port(ctx.state, port.id, "ACTIVE", timeout=60))
    ctx.record(undo.argv(plug_argv(ctx, vm)))
    ctx.record(undo.argv([*vsctl(ctx, vm.node), "--if-exists", "del-port", "br-int", vm.ovs_port]))
    ctx.record(neutron_undo.step(ctx.state, "update_port", port.id, binding_host_id=old))
    api(f"updating port {port.id}", net.update_port, port.id, binding_host_id=gone)
    return f"{vm.name}: port {port.id} binding:host_id {old} -> {gone} (no agent there)"


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
    area="neutron",
)
def _vm_spoofing(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    claim(ctx, f"addresses of {vm.name}")
    net = conn(ctx).network
    port = api(f"reading port {vm.port_id}", net.get_port, vm.port_id)
    fixed = port.fixed_ips[0]
    subnet = api(f"reading subnet {fixed['subnet_id']}", net.get_subnet, fixed["subnet_id"])
    spoof = spoof_address(subnet.cidr)
    users = [p.id for p in net.ports(fixed_ips=[f"ip_address={spoof.ip}"]) if p.network_id == port.network_id]
    if users:
        raise LabError(f"{spoof.ip} is a Neutron port's address ({', '.join(users)}): not a spoofed one")
    target = vm.dhcp_server
    dhcp = _dhcp_port(net, port.network_id, target)
    ns, prefix, ip = vm.namespace, spoof.network.prefixlen, fixed["ip_address"]
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
        f"{vm.name}: eth0 {ip} -> {spoof.ip} (not on port {port.id}); ping to {target} from it "
        f"(pid {rec.pid}, {SPOOF_PINGS[1]} packets)"
    )
