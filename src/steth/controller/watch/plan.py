"""Watch plans: what each agent probes on each network, and the calls that hand them out."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...wire.watch import WatchApplied, WatchNetwork, WatchPeer, WatchPlan, WatchStatus, check_label
from ..checks.nodes import NodeView
from ..client import AgentClient
from ..config import NodeConfig
from .peers import peer_sets, probers


@dataclass(frozen=True)
class Settings:
    peers: int = 10
    interval: float = 10.0
    jitter: float = 0.2
    timeout: float = 1.0
    max_pps: float = 50.0
    vlan_every: int = 6


def build(
    views: list[NodeView],
    networks: list[str],
    settings: Settings,
    mtus: dict[str, int] | None,
    vlans: dict[str, list[int]] | None = None,
) -> dict[str, WatchPlan]:
    """node -> its plan, for every live node with an address on at least one network.

    Peer sets are computed per network among the nodes that have an address on it, so a node on
    only some networks is still watched by K peers on each of them. ``mtus``: network -> the MTU
    the don't-fragment probes test (None: no MTU probes); ``vlans``: network -> the VLANs of its
    heartbeat, sent on each node's interface on that network and checked by the node's probers' peers.
    """
    vlans = vlans or {}
    live = [v for v in views if v.alive]
    for v in live:
        try:
            check_label(v.name)
        except ValueError as exc:
            raise UsageError(f"node {v.name!r} cannot be watched: {exc}", "rename it in [nodes]") from None
    per_net = {net: peer_sets([v.name for v in live if net in v.on], settings.peers) for net in networks}
    into = {net: probers(sets) for net, sets in per_net.items()}
    # one peer object per (network, node), shared by its K probers' plans; built without re-validation:
    # the names are the inventory's and the addresses were parsed as IPs when matched to the network
    peers = {
        net: {v.name: WatchPeer.model_construct(name=v.name, address=v.on[net].address) for v in live if net in v.on}
        for net in networks
    }
    plans = {}
    for v in live:
        nets = [
            WatchNetwork(
                name=net,
                mtu=mtus.get(net) if mtus else None,
                peers=[peers[net][p] for p in per_net[net].get(v.name, [])],
                vlans=vlans.get(net, []),
                interface=v.on[net].interface if vlans.get(net) else None,
                probers=into[net].get(v.name, []) if vlans.get(net) else [],
            )
            for net in networks
            if net in v.on
        ]
        if nets:
            plans[v.name] = WatchPlan(
                source=v.name,
                networks=nets,
                interval=settings.interval,
                jitter=settings.jitter,
                timeout=settings.timeout,
                max_pps=settings.max_pps,
                vlan_every=settings.vlan_every,
            )
    return plans


async def send(c: AgentClient, node: NodeConfig, plan: WatchPlan) -> WatchApplied:
    return await c.request(node, "PUT", "/v1/watch", body=plan, result=WatchApplied)


async def stop(c: AgentClient, node: NodeConfig) -> WatchStatus:
    return await c.request(node, "DELETE", "/v1/watch", result=WatchStatus)


async def status(c: AgentClient, node: NodeConfig) -> WatchStatus:
    return await c.request(node, "GET", "/v1/watch", result=WatchStatus)
