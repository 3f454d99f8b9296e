"""The ML2/OVS lab's Neutron agents: an OVS agent on every node; DHCP and L3 (legacy) agents on the network node.

With DVR also an L3 agent (``agent_mode = dvr``) on every compute node, run in the node's namespace view
(views.py) so that its ``qrouter-``/``fip-`` namespaces are that node's own.
"""

from __future__ import annotations

import os

from ...topology import Node, Topology
from ..services import Services, env
from . import views
from .config import l3_agent_mode, l3_ini, ovs_rundir


def l3_argv(svc: Services, node: Node, ini_name: str) -> list[str]:
    """The lab's L3 agent launcher (no sweep of other routers' namespaces) with the node's files."""
    return [
        "/usr/bin/python3",
        svc.conf("neutron-l3-agent.py"),
        "--config-file",
        svc.conf("agent-common.conf"),
        "--config-file",
        svc.conf(f"host-{node.name}.conf"),
        "--config-file",
        svc.conf(ini_name),
        "--log-file",
        os.path.join(svc.logs, f"l3-agent-{node.name}.log"),
    ]


def start_l3(svc: Services, topo: Topology, node: Node, ini_name: str) -> None:
    """The node's L3 agent (recorded as ``l3-agent-<node>``), in the node's view when it has one."""
    renv = env(svc.dir, OVS_RUNDIR=ovs_rundir(svc.state, node.name))
    argv = l3_argv(svc, node, ini_name)
    pid = views.holder_pid(svc.rec, node.name)
    if pid:
        svc.spawn(f"l3-agent-{node.name}", [*views.enter(pid), *argv], env=renv)
    else:
        svc.spawn(f"l3-agent-{node.name}", argv, netns=topo.node_ns(node), env=renv)


def start(svc: Services, topo: Topology, dvr: bool = False) -> None:
    """Start every agent (recorded), each in its node's namespace with its node's OVS_RUNDIR."""
    common = ["--config-file", svc.conf("agent-common.conf")]
    for node in topo.nodes:
        ns = topo.node_ns(node)
        renv = env(svc.dir, OVS_RUNDIR=ovs_rundir(svc.state, node.name))
        host = [*common, "--config-file", svc.conf(f"host-{node.name}.conf")]

        def log(name: str, node_name: str = node.name) -> list[str]:
            return ["--log-file", os.path.join(svc.logs, f"{name}-{node_name}.log")]

        svc.spawn(f"ovs-agent-{node.name}", ["neutron-openvswitch-agent", *host, *log("ovs-agent")], netns=ns, env=renv)
        if node.role == "network":
            dhcp = ["--config-file", svc.conf("dhcp_agent.ini")]
            svc.spawn(
                f"dhcp-agent-{node.name}", ["neutron-dhcp-agent", *host, *dhcp, *log("dhcp-agent")], netns=ns, env=renv
            )
        if node.role == "network" or l3_agent_mode(node, dvr) == "dvr":
            start_l3(svc, topo, node, l3_ini(node, dvr))


def expected(topo: Topology, dvr: bool = False) -> int:
    """An OVS agent per node, the DHCP and L3 agents of the network node (and with DVR an L3 agent per compute)."""
    computes = sum(1 for n in topo.nodes if n.role == "compute")
    return len(topo.nodes) + 2 + (computes if dvr else 0)
