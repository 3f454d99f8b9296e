"""Nodes and networks: which agent is where, and each node's address on each network."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..errors import UnknownAgentError
from ..wire.models import AgentInfo
from .config import ControllerConfig, NodeConfig


def resolve_node(config: ControllerConfig, name: str) -> NodeConfig:
    """The configured node called ``name``; UnknownAgentError lists the known ones."""
    try:
        return config.nodes[name]
    except KeyError:
        known = ", ".join(sorted(config.nodes)) or "none"
        raise UnknownAgentError(f"unknown agent {name!r}", f"known agents in {config.source}: {known}") from None


def select_nodes(config: ControllerConfig, names: list[str] | None) -> list[NodeConfig]:
    if not names:
        return list(config.nodes.values())
    return [resolve_node(config, n) for n in names]


def addresses_by_network(config: ControllerConfig, info: AgentInfo) -> dict[str, list[str]]:
    """For each configured network, the node's addresses that fall in its CIDR."""
    found: dict[str, list[str]] = {name: [] for name in config.networks}
    for iface in info.interfaces:
        for addr in iface.addresses:
            ip = ipaddress.ip_address(addr.address)
            for name, net in config.networks.items():
                if ip.version == net.version and ip in net:
                    found[name].append(addr.address)
    return found


@dataclass(frozen=True)
class NodeAddress:
    network: str
    address: str
    interface: str


def interface_on_network(config: ControllerConfig, info: AgentInfo, network: str) -> list[NodeAddress]:
    """Interfaces of the node with an address in ``network``'s CIDR."""
    net = config.networks[network]
    result = []
    for iface in info.interfaces:
        for addr in iface.addresses:
            ip = ipaddress.ip_address(addr.address)
            if ip.version == net.version and ip in net:
                result.append(NodeAddress(network, addr.address, iface.name))
    return result
