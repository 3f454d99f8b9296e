"""Fault kinds of distributed routers (a lab built with `steth lab up --neutron --dvr`).

The compute nodes' namespaces live in each node's view (lab/neutron/ml2ovs/views.py): they are reached
through the view's holder. What the L3 agent made is repaired the way an operator would: by restarting
that agent (a recorded undo step, ``dvr-l3-restart``), which rebuilds its router, fip- and snat- parts.
"""

from __future__ import annotations

from typing import Any

from ...errors import LabError, UsageError
from ...host import netlink, proc, undo
from ..neutron.ml2ovs import agents, views
from ..neutron.ml2ovs.config import l3_agent_mode, mode_ini, write_l3_ini
from ..neutron.record import NeutronRecord
from ..state import LabState
from .neutron_base import claim, neutron_network, neutron_rec, vsctl
from .registry import FaultContext, kind

UNDO_RESTART = "dvr-l3-restart"
DEAD_VLAN = 4095
WRONG_MODE = {"dvr": "legacy", "dvr_snat": "dvr"}  # what each node's agent is switched to


def dvr_rec(ctx: FaultContext) -> NeutronRecord:
    rec = neutron_rec(ctx)
    if not rec.dvr:
        raise UsageError(
            f"lab {ctx.state.lab} has no distributed routers", "build it with `steth lab up --neutron --dvr`"
        )
    return rec


def restart_step(ctx: FaultContext, node: str, mode: str) -> undo.Step:
    """Undo: restart the node's L3 agent in ``mode`` (it rebuilds what it owns)."""
    return {"kind": UNDO_RESTART, "lab": ctx.state.lab, "node": node, "mode": mode}


def _restart(step: undo.Step) -> None:
    from ..neutron.services import Services
    from ..topology import build as build_topology

    state = LabState.load(step["lab"])
    rec = NeutronRecord.load(state) if state else None
    if state is None or rec is None:
        raise LabError(f"lab {step['lab']} is gone: nothing to restart")
    topo = build_topology(state.lab, state.computes, state.cidrs)
    agents.restart_l3(Services(state, rec), topo, topo.node(step["node"]), mode_ini(step["mode"]), synced=True)


undo.register(UNDO_RESTART, _restart)


def _in_view(rec: NeutronRecord, node: str, argv: list[str]) -> list[str]:
    pid = views.holder_pid(rec, node)
    return [*views.enter(pid), *argv] if pid else argv


def _fip_ns(ctx: FaultContext, rec: NeutronRecord) -> str:
    if rec.external is None or not rec.external.network_id:
        raise LabError(f"lab {ctx.state.lab} has no external network")
    ns = f"fip-{rec.external.network_id}"
    if ns not in views.list_netns(rec, ctx.node.name):
        raise LabError(f"{ctx.node.name} has no {ns}", "the floating IP's compute node has one (vm1's: compute-1)")
    return ns


def _links(rec: NeutronRecord, node: str, ns: str, prefix: str) -> list[str]:
    return [i.name for i in netlink.list_interfaces(views.netns_path(rec, node, ns)) if i.name.startswith(prefix)]


@kind(
    "dvr-fip-ns-removed",
    "delete the fip-<external network> namespace of a compute node (its floating IPs lose their way out)",
    params=("node",),
    area="dvr",
)
def _fip_ns_removed(ctx: FaultContext) -> str:
    rec, node = dvr_rec(ctx), ctx.node.name
    ns = _fip_ns(ctx, rec)
    fg = _links(rec, node, ns, "fg-")
    claim(ctx, f"L3 agent of {node}")
    ctx.record(restart_step(ctx, node, l3_agent_mode(ctx.node, True)))
    for port in fg:  # its tap goes with the namespace: the agent re-plugs a port it does not find
        ctx.record(undo.argv([*vsctl(ctx, node), "--if-exists", "del-port", "br-int", port]))
    ctx.run(_in_view(rec, node, ["ip", "netns", "delete", ns]), None)
    return f"{ns} deleted on {node} (with {', '.join(fg) or 'no fg- port'}); undo restarts its L3 agent"


@kind(
    "dvr-l3-wrong-mode",
    "restart a node's L3 agent in the wrong agent_mode (a compute node's in legacy, the network node's in dvr)",
    params=("node",),
    area="dvr",
)
def _wrong_mode(ctx: FaultContext) -> str:
    from ..neutron.services import Services

    rec, node = dvr_rec(ctx), ctx.node
    right = l3_agent_mode(node, True)
    wrong = WRONG_MODE[right]
    claim(ctx, f"L3 agent of {node.name}")
    svc = Services(ctx.state, rec)
    write_l3_ini(svc, wrong)
    ctx.record(restart_step(ctx, node.name, right))
    agents.restart_l3(svc, ctx.topo, node, mode_ini(wrong))
    return f"the L3 agent of {node.name} restarted with agent_mode={wrong} (its role needs {right})"


@kind(
    "dvr-sg-port-removed",
    "remove the snat- namespace's sg- port on a tenant network's subnet (--network vlan|vxlan)",
    params=("network",),
    area="dvr",
)
def _sg_port_removed(ctx: FaultContext) -> str:
    import ipaddress

    rec = dvr_rec(ctx)
    net_id = neutron_network(ctx)
    key = ctx.params["network"]
    if rec.router is None:
        raise LabError(f"lab {ctx.state.lab} has no router")
    net_node = next(n for n in ctx.topo.nodes if n.role == "network").name
    ns = f"snat-{rec.router.id}"
    if ns not in views.list_netns(rec, net_node):
        raise LabError(f"{net_node} has no {ns}", "see `steth lab status`")
    cidr = _subnet_cidr(ctx, rec, key)
    ifaces = netlink.list_interfaces(views.netns_path(rec, net_node, ns))
    ports = [
        i.name
        for i in ifaces
        if i.name.startswith("sg-")
        and any(a.family == 4 and ipaddress.ip_address(a.address) in ipaddress.ip_network(cidr) for a in i.addresses)
    ]
    if not ports:
        raise LabError(f"{ns} on {net_node} has no sg- port on {cidr} (network {net_id})")
    claim(ctx, f"L3 agent of {net_node}")
    ctx.record(restart_step(ctx, net_node, "dvr_snat"))
    for port in ports:
        ctx.run([*vsctl(ctx, net_node), "--if-exists", "del-port", "br-int", port], None)
    return f"{', '.join(ports)} ({cidr}) removed from {ns} on {net_node}; undo restarts its L3 agent"


def _subnet_cidr(ctx: FaultContext, rec: NeutronRecord, key: str) -> str:
    from .neutron_base import api, conn

    sub: Any = api(f"reading subnet {rec.subnets[key]}", conn(ctx).network.get_subnet, rec.subnets[key])
    return str(sub.cidr)


@kind(
    "dvr-fg-dead-tag",
    "give a compute node's fip- gateway port (fg-) on br-int the dead VLAN tag 4095",
    params=("node",),
    area="dvr",
)
def _fg_dead_tag(ctx: FaultContext) -> str:
    rec, node = dvr_rec(ctx), ctx.node.name
    ns = _fip_ns(ctx, rec)
    fg = _links(rec, node, ns, "fg-")
    if not fg:
        raise LabError(f"{ns} on {node} has no fg- port")
    port = fg[0]
    done = proc.run([*vsctl(ctx, node), "get", "Port", port, "tag"], timeout=15)
    old = done.stdout.strip()
    if done.returncode != 0 or not old.isdigit():
        raise LabError(f"cannot read the tag of {port} on {node}: {(done.stderr or done.stdout).strip()}")
    claim(ctx, f"{port} on {node}")
    ctx.record(undo.argv([*vsctl(ctx, node), "set", "Port", port, f"tag={old}"]))
    ctx.run([*vsctl(ctx, node), "set", "Port", port, f"tag={DEAD_VLAN}"], None)
    return f"{port} on {node}'s br-int: tag {old} -> {DEAD_VLAN}"


@kind(
    "dvr-l3-agent-down",
    "freeze a node's neutron-l3-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=("node",),
    area="dvr",
)
def _l3_down(ctx: FaultContext) -> str:
    import os
    import signal

    rec, node = dvr_rec(ctx), ctx.node.name
    running = agents.l3_process(rec, node)
    if running is None:
        raise LabError(f"no L3 agent runs on {node}", "see `steth lab status`")
    claim(ctx, f"L3 agent of {node}")
    ctx.record(undo.argv(["kill", "-CONT", str(running.pid)]))
    os.kill(running.pid, signal.SIGSTOP)
    return f"neutron-l3-agent on {node} (pid {running.pid}) stopped (SIGSTOP): Neutron marks it dead after 11 s"
