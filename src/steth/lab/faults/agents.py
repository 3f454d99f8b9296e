"""Fault kinds of the lab's Neutron agents: frozen (SIGSTOP), alive but silent, as a hung agent looks."""

from __future__ import annotations

from .neutron_base import freeze
from .registry import FaultContext, kind


@kind(
    "ovs-agent-down",
    "freeze a node's neutron-openvswitch-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=("node",),
    area="neutron",
)
def _ovs_agent_down(ctx: FaultContext) -> str:
    node = ctx.node
    return freeze(
        ctx,
        f"ovs-agent-{node.name}",
        f"neutron-openvswitch-agent on {node.name}",
        "build the lab with `steth lab up --neutron`",
    )


@kind(
    "l3-agent-down",
    "freeze the network node's neutron-l3-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=(),
    area="neutron",
)
def _l3_agent_down(ctx: FaultContext) -> str:
    return freeze(
        ctx,
        "l3-agent-network",
        "neutron-l3-agent on network",
        "this lab has no L3 agent (router); rebuild it with a steth that runs one",
    )
