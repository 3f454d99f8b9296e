"""The ML2/OVS lab's Neutron agents: an OVS agent on every node; DHCP and L3 (legacy) agents on the network node."""

from __future__ import annotations

import os

from ...topology import Topology
from ..services import Services, env
from .config import ovs_rundir


def start(svc: Services, topo: Topology) -> None:
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
            l3 = ["/usr/bin/python3", svc.conf("neutron-l3-agent.py"), *host, "--config-file", svc.conf("l3_agent.ini")]
            svc.spawn(f"l3-agent-{node.name}", [*l3, *log("l3-agent")], netns=ns, env=renv)


def expected(topo: Topology) -> int:
    """An OVS agent per node, and the DHCP and L3 agents of the network node."""
    return len(topo.nodes) + 2
