"""What a check needs to know about the nodes first: alive or not, and their address per network."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import AgentError, UsageError
from ...wire.models import AgentInfo
from .. import api
from ..client import AgentClient
from ..config import ControllerConfig, NodeConfig
from ..inventory import NodeAddress, interface_on_network


@dataclass
class NodeView:
    node: NodeConfig
    info: AgentInfo | None = None
    error: AgentError | None = None
    on: dict[str, NodeAddress] = field(default_factory=dict)  # network -> address/interface

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def alive(self) -> bool:
        return self.info is not None


def select_networks(config: ControllerConfig, names: list[str] | None) -> list[str]:
    """The networks a check runs on: the ones named (validated), or all configured."""
    if not config.networks:
        raise UsageError(f"{config.source} defines no [networks]", "add e.g. management = 10.0.0.0/24")
    if not names:
        return list(config.networks)
    unknown = [n for n in names if n not in config.networks]
    if unknown:
        raise UsageError(
            f"unknown network {unknown[0]!r}", f"networks in {config.source}: {', '.join(config.networks)}"
        )
    return names


async def discover(
    client: AgentClient, config: ControllerConfig, nodes: list[NodeConfig], networks: list[str]
) -> list[NodeView]:
    """/v1/info from every node at once; each node's first address in each network's CIDR."""
    outcomes = await client.fan_out(nodes, lambda n: api.info(client, n))
    views = []
    for o in outcomes:
        view = NodeView(o.node, info=o.value, error=o.error)
        if o.value is not None:
            for net in networks:
                found = interface_on_network(config, o.value, net)
                if found:
                    view.on[net] = found[0]
        views.append(view)
    return views
