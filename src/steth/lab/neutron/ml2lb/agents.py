"""The Linux bridge lab's Neutron agents: a linuxbridge agent on every node; DHCP and L3 (legacy) agents
on the network node, all with ``interface_driver = linuxbridge``."""

from __future__ import annotations

import os

from ...topology import Topology
from ..services import Services, env
from .config import agent_path


def start(svc: Services, topo: Topology) -> None:
    """Start every agent (recorded). The linuxbridge agent runs under ``ip netns exec`` (L2: it lists
    /sys/class/net, which only ip netns exec remounts for the namespace); DHCP and L3 agents under
    ``nsenter --net`` (their qdhcp-/qrouter- namespaces must be visible outside)."""
    common = ["--config-file", svc.conf("agent-common.conf")]
    renv = env(svc.dir, PATH=agent_path(svc))
    for node in topo.nodes:
        ns = topo.node_ns(node)
        host = [*common, "--config-file", svc.conf(f"host-{node.name}.conf")]

        def log(name: str, node_name: str = node.name) -> list[str]:
            return ["--log-file", os.path.join(svc.logs, f"{name}-{node_name}.log")]

        lb = ["ip", "netns", "exec", ns, "neutron-linuxbridge-agent", *host, *log("lb-agent")]
        svc.spawn(f"lb-agent-{node.name}", lb, env=renv)
        if node.role == "network":
            dhcp = ["--config-file", svc.conf("dhcp_agent.ini")]
            svc.spawn(
                f"dhcp-agent-{node.name}", ["neutron-dhcp-agent", *host, *dhcp, *log("dhcp-agent")], netns=ns, env=renv
            )
            l3 = ["/usr/bin/python3", svc.conf("neutron-l3-agent.py"), *host, "--config-file", svc.conf("l3_agent.ini")]
            svc.spawn(f"l3-agent-{node.name}", [*l3, *log("l3-agent")], netns=ns, env=renv)


def expected(topo: Topology) -> int:
    """A linuxbridge agent per node, and the DHCP and L3 agents of the network node."""
    return len(topo.nodes) + 2
