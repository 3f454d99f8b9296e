"""Nodes from Neutron's agents, for a controller config without [nodes].

A node is a host that runs a Neutron agent; its name is the agent's host (so it maps onto
Neutron's view by name). Its agent address comes from the config's ``discovery_address``
template: ``{tunneling_ip}`` (the host's Open vSwitch agent reports it; default) and/or
``{host}`` (the host name, resolved by DNS). Neutron's agent ``configurations`` carry no
management address, so a host whose steth-agent listens elsewhere needs [nodes].
"""

from __future__ import annotations

from ..errors import ConfigError
from ..openstack.adapter import NeutronAgent
from .config import NodeConfig, parse_node


def tunneling_ips(agents: list[NeutronAgent]) -> dict[str, str]:
    """host -> the tunneling_ip of its Open vSwitch agent (an alive one first, if there are several)."""
    found: dict[str, str] = {}
    for a in sorted(agents, key=lambda a: not a.alive):
        if a.is_ovs and a.tunnel_ip and a.host not in found:
            found[a.host] = a.tunnel_ip
    return found


def nodes_from_agents(agents: list[NeutronAgent], template: str, port: int) -> tuple[dict[str, NodeConfig], list[str]]:
    """(node name -> NodeConfig, problems naming the hosts left out and why)."""
    ips = tunneling_ips(agents)
    nodes: dict[str, NodeConfig] = {}
    problems: list[str] = []
    for host in sorted({a.host for a in agents if a.host}):
        if "{tunneling_ip}" in template and host not in ips:
            kinds = ", ".join(sorted({a.binary or a.agent_type for a in agents if a.host == host}))
            problems.append(
                f"Neutron host {host} ({kinds}) reports no tunneling_ip: no address for its "
                f"steth-agent (discovery_address = {template}); add it to [nodes]"
            )
            continue
        address = template.format(host=host, tunneling_ip=ips.get(host, ""))
        try:
            nodes[host] = parse_node(host, address, port)
        except ConfigError as exc:
            problems.append(f"Neutron host {host}: address {address!r} from discovery_address: {exc.message}")
    return nodes, problems
