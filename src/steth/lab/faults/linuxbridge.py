"""Fault kinds of the ML2/Linux bridge lab (`--backend linuxbridge`): the agent frozen, a remote VTEP's
l2population flood entry removed, the VM's tap out of its bridge, the VXLAN device down, the port's
iptables chains flushed. Each records its undo before the change, like every kind."""

from __future__ import annotations

import json
import shlex

from ...errors import LabError, UsageError
from ...host import proc, undo
from ..neutron.ml2lb.config import BACKEND, VXLAN_A, VXLAN_B, local_ip
from ..neutron.ml2lb.plug import bridge_name, tap_name
from ..neutron.record import VMRecord
from .neutron_base import freeze, lab_vm, neutron_rec
from .registry import FaultContext, kind

FLOOD_MAC = "00:00:00:00:00:00"
HINT = "build the lab with `steth lab up --neutron --backend linuxbridge`"


def _lb_vm(ctx: FaultContext) -> VMRecord:
    if neutron_rec(ctx).backend != BACKEND:
        raise UsageError(f"lab {ctx.state.lab} is not a Linux bridge lab", HINT)
    return lab_vm(ctx)


def _where(ctx: FaultContext, vm: VMRecord) -> tuple[str, str]:
    """(the VM node's namespace, the VXLAN device of its network)."""
    seg = {n.key: n.segment for n in (VXLAN_A, VXLAN_B)}.get(vm.network)
    if seg is None:
        raise LabError(f"{vm.name} is on network {vm.network}, which has no VXLAN device")
    return ctx.topo.node_ns(ctx.topo.node(vm.node)), f"vxlan-{seg}"


def _out(argv: list[str], netns: str) -> str:
    done = proc.run(argv, netns=netns, timeout=30)
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed in {netns}: {done.stderr.strip()}")
    return done.stdout


@kind(
    "lb-agent-down",
    "freeze a node's neutron-linuxbridge-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=("node",),
    area="linuxbridge",
)
def _agent_down(ctx: FaultContext) -> str:
    node = ctx.node
    return freeze(ctx, f"lb-agent-{node.name}", f"neutron-linuxbridge-agent on {node.name}", HINT)


@kind(
    "lb-fdb-removed",
    "remove the l2population flood entry to the network node's VTEP from the VXLAN device of a VM's network "
    "on the VM's node (broadcasts, DHCP among them, no longer reach the network node)",
    params=("vm",),
    area="linuxbridge",
)
def _fdb_removed(ctx: FaultContext) -> str:
    vm = _lb_vm(ctx)
    ns, dev = _where(ctx, vm)
    net_node = next(n for n in ctx.topo.nodes if n.role == "network")
    vtep = local_ip(ctx.topo, net_node)
    ctx.claim(f"fdb:{vm.node}:{dev}:{vtep}")
    entry = [FLOOD_MAC, "dev", dev, "dst", vtep]
    ctx.record(undo.argv(["bridge", "fdb", "append", *entry], netns=ns))
    ctx.run(["bridge", "fdb", "del", *entry], ns)
    return f"flood entry {FLOOD_MAC} dst {vtep} (network) removed from {dev} on {vm.node}"


@kind(
    "lb-tap-unbridged",
    "take a VM's tap out of its brq bridge on its node (the port stays ACTIVE: os-vif's job undone)",
    params=("vm",),
    area="linuxbridge",
)
def _tap_unbridged(ctx: FaultContext) -> str:
    vm = _lb_vm(ctx)
    ns = ctx.topo.node_ns(ctx.topo.node(vm.node))
    tap, brq = tap_name(vm.port_id), bridge_name(neutron_rec(ctx).networks[vm.network])
    ctx.claim(f"tap:{tap}")
    ctx.record(undo.argv(["ip", "link", "set", tap, "master", brq], netns=ns))
    ctx.run(["ip", "link", "set", tap, "nomaster"], ns)
    return f"{tap} ({vm.name}) taken out of {brq} on {vm.node}"


@kind(
    "lb-vxlan-down",
    "set the VXLAN device of a VM's network down on the VM's node",
    params=("vm",),
    area="linuxbridge",
)
def _vxlan_down(ctx: FaultContext) -> str:
    vm = _lb_vm(ctx)
    ns, dev = _where(ctx, vm)
    ctx.claim(f"link:{vm.node}:{dev}")
    # a device set down loses its neighbour entries, l2population's ARP responder entries among them:
    # the undo puts them back after the device is up again (undo steps run last-recorded first)
    for n in json.loads(_out(["ip", "-j", "neigh", "show", "dev", dev], ns) or "[]"):
        if n.get("dst") and n.get("lladdr") and "PERMANENT" in (n.get("state") or []):
            replace = ["ip", "neigh", "replace", n["dst"], "lladdr", n["lladdr"], "dev", dev, "nud", "permanent"]
            ctx.record(undo.argv(replace, netns=ns))
    ctx.record(undo.link_set(dev, ns, state="up"))
    ctx.set_link(ns, dev, state="down")
    return f"{dev} down on {vm.node}"


@kind(
    "lb-sg-flushed",
    "flush the iptables chains of a VM's port (ingress and egress) on its node: its security groups no longer "
    "filter anything",
    params=("vm",),
    area="linuxbridge",
)
def _sg_flushed(ctx: FaultContext) -> str:
    vm = _lb_vm(ctx)
    ns = ctx.topo.node_ns(ctx.topo.node(vm.node))
    pid = vm.port_id[:10]
    chains = [
        line.split()[0][1:]
        for line in _out(["iptables-save", "-t", "filter"], ns).splitlines()
        if line.startswith(":") and line.split()[0].endswith((f"-i{pid}", f"-o{pid}"))
    ]
    if not chains:
        raise LabError(f"no iptables chain of {vm.name}'s port {vm.port_id} on {vm.node}", "is the agent running?")
    ctx.claim(f"chains:{pid}")
    for chain in chains:
        rules = [shlex.split(r) for r in _out(["iptables", "-w", "-S", chain], ns).splitlines() if r.startswith("-A ")]
        for rule in reversed(rules):  # undo runs in reverse: the rules come back in their order
            ctx.record(undo.argv(["iptables", "-w", *rule], netns=ns))
        ctx.record(undo.argv(["iptables", "-w", "-F", chain], netns=ns))  # runs last-recorded first: a clean chain
        ctx.run(["iptables", "-w", "-F", chain], ns)
    return f"iptables chains {', '.join(chains)} of {vm.name} flushed on {vm.node}"
