"""Fault kinds of an OVN chassis (the node side of the ML2/OVN lab; registered in faults/registry.py, area ovn).

* ovn-controller-stopped: a node's ovn-controller frozen (SIGSTOP): its Chassis_Private.nb_cfg stops
  following, its flows and bindings stay as they were but nothing new is wired.
* ovn-iface-id-changed: the VM's OVS Interface gets another iface-id: ovn-controller releases the
  Port_Binding (no chassis, down), the VM is cut off.
* ovn-geneve-block: Geneve (UDP 6081) from --node to --to dropped on the tenant switch (ebtables).
* ovn-system-id-changed: a node's OVS system-id changed: ovn-controller registers a new chassis, the
  old Chassis row stays behind (stale); the undo restores the id and deletes the new chassis.
"""

from __future__ import annotations

from ...host import proc, undo
from ..neutron.ml2ovs.config import tunnel_ip
from .neutron_base import freeze, lab_vm, vsctl
from .ovn import HINT, ovn_rec, sbctl
from .registry import FaultContext, kind

GENEVE_PORT = 6081


@kind(
    "ovn-controller-stopped",
    "freeze a node's ovn-controller (SIGSTOP): its chassis stops acknowledging nb_cfg (ML2/OVN lab)",
    params=("node",),
    area="ovn",
)
def _controller_stopped(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    node = ctx.node.name
    return freeze(ctx, f"ovn-controller-{node}", f"ovn-controller on {node}", HINT).split(": Neutron")[0]


@kind(
    "ovn-iface-id-changed",
    "give a VM's OVS Interface another iface-id on its chassis: OVN releases the port's binding (ML2/OVN lab)",
    params=("vm",),
    area="ovn",
)
def _iface_id_changed(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    vm = lab_vm(ctx)
    ctx.claim(f"iface-id of {vm.name}")
    base = vsctl(ctx, vm.node)
    wrong = f"steth-lost-{vm.port_id[:8]}"
    ctx.record(undo.argv([*base, "set", "Interface", vm.ovs_port, f"external_ids:iface-id={vm.port_id}"]))
    ctx.run([*base, "set", "Interface", vm.ovs_port, f"external_ids:iface-id={wrong}"], None)
    return f"{vm.name}: Interface {vm.ovs_port} on {vm.node} iface-id {vm.port_id} -> {wrong}"


@kind(
    "ovn-geneve-block",
    "drop Geneve (UDP 6081) from --node to --to on the tenant switch (ML2/OVN lab)",
    params=("node", "to"),
    area="ovn",
)
def _geneve_block(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    src, dst = str(tunnel_ip(ctx.topo, ctx.node)), str(tunnel_ip(ctx.topo, ctx.peer))
    ctx.claim(f"geneve {src} -> {dst}")
    rule = ["FORWARD", "-p", "IPv4", "--ip-src", src, "--ip-dst", dst, "--ip-proto", "udp"]
    rule += ["--ip-dport", str(GENEVE_PORT), "-j", "DROP"]
    ctx.record(undo.argv(["ebtables", "-D", *rule], ctx.topo.switch_ns))
    ctx.run(["ebtables", "-A", *rule], ctx.topo.switch_ns)
    return f"Geneve {src} -> {dst} ({ctx.node.name} -> {ctx.peer.name}) dropped on the tenant switch"


@kind(
    "ovn-system-id-changed",
    "change a node's OVS system-id: a new chassis registers, the old one stays stale (ML2/OVN lab)",
    params=("node",),
    area="ovn",
)
def _system_id_changed(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    node = ctx.node.name
    ctx.claim(f"system-id of {node}")
    base = vsctl(ctx, node)
    got = proc.run([*base, "get", "Open_vSwitch", ".", "external_ids:system-id"], timeout=15)
    old = got.stdout.strip().strip('"') or node
    new = f"{old}-steth-new"
    # undo, in reverse: the old id back first, then the chassis the new id registered removed
    ctx.record(undo.argv([*sbctl(ctx), "--if-exists", "chassis-del", new]))
    ctx.record(undo.argv([*base, "set", "Open_vSwitch", ".", f"external_ids:system-id={old}"]))
    ctx.run([*base, "set", "Open_vSwitch", ".", f"external_ids:system-id={new}"], None)
    return f"{node}: OVS system-id {old} -> {new} (chassis {old} left behind)"
