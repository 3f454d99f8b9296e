"""What the lab looks like right now: nodes, namespaces, addresses, agent processes."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import HostError, LabError
from ..host import netlink, proc
from .build import topology_of
from .state import LabState


@dataclass
class NodeStatus:
    node: str
    role: str
    namespace: str
    interfaces: dict[str, list[str]]  # ifname -> ["addr/prefix", ...]
    agent_address: str
    agent_pid: int | None
    agent_state: str  # running | stopped


def require(lab: str) -> LabState:
    state = LabState.load(lab)
    if state is None:
        raise LabError(f"there is no lab called {lab}", f"build it with `steth lab up --name {lab}`")
    return state


def status(lab: str) -> tuple[LabState, list[NodeStatus]]:
    state = require(lab)
    topo = topology_of(state)
    rows = []
    for node in topo.nodes:
        ns = topo.node_ns(node)
        try:
            ifaces = {i.name: [f"{a.address}/{a.prefixlen}" for a in i.addresses if a.family == 4]
                      for i in netlink.list_interfaces(ns) if i.name != "lo"}
        except HostError:
            ifaces = {}
        rec = state.agent(node.name)
        running = rec is not None and proc.is_running(rec)
        rows.append(NodeStatus(node=node.name, role=node.role, namespace=ns, interfaces=ifaces,
                               agent_address=f"{topo.address(node, topo.management)}:9698",
                               agent_pid=rec.pid if rec else None,
                               agent_state="running" if running else "stopped"))
    return state, rows
