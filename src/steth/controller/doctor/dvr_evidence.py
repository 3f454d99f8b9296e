"""Evidence of a port's path through a distributed router (ML2/OVS with DVR), from the steth agents.

With DVR the VM's first hop is the ``qrouter-`` namespace on its own compute node. A floating IP
leaves from there through the node's ``fip-<external network>`` namespace (``rfp-``/``fpr-`` pair,
``fg-`` port on br-int); every other address is SNATed in ``snat-<router>`` on the node Neutron
schedules it on (an L3 agent in ``dvr_snat`` mode), reached through its ``sg-`` port on the subnet.
Nothing here judges (dvr_checks.py does).
"""

from __future__ import annotations

import asyncio

from ...openstack.adapter import NeutronAgent
from ...wire.models import IptablesResponse, Namespace, TcpConnectRequest, TcpConnectResult
from ...wire.models import PingResponse as Ping
from .. import api
from .evidence import KINDS, Gatherer, Kind, PerHost, Unprobed, nothing
from .facts import Facts

SNAT_MODE = "dvr_snat"
DVR_MODES = frozenset({"dvr", "dvr_snat", "dvr_no_external"})


def is_l3(a: NeutronAgent) -> bool:
    return a.agent_type == "L3 agent" or a.binary == "neutron-l3-agent"


def agent_mode(a: NeutronAgent) -> str:
    mode = a.configuration.get("agent_mode")
    return mode if isinstance(mode, str) else "legacy"


def local_l3(f: Facts) -> NeutronAgent | None:
    """The L3 agent of the VM's compute node (Neutron's agents list, by host)."""
    return next((a for a in f.agents_on(f.compute) if is_l3(a)), None)


def snat_agent(f: Facts) -> NeutronAgent | None:
    """The agent hosting the router's SNAT: a ``dvr_snat`` agent among the router's L3 agents (alive first)."""
    snat = [a for a in f.l3_agents if agent_mode(a) == SNAT_MODE]
    return next((a for a in snat if a.alive), snat[0] if snat else None)


def snat_host(f: Facts) -> str | None:
    a = snat_agent(f)
    return a.host if a else None


def uses_fip(f: Facts) -> bool:
    """Does the VM's traffic leave through a floating IP (its compute node's fip- namespace)?"""
    return bool(f.floating_ips)


def qrouter_ns(f: Facts) -> str:
    assert f.router is not None
    return f"qrouter-{f.router.id}"


def fip_ns(f: Facts) -> str:
    assert f.router is not None
    return f"fip-{f.router.gateway_network_id}"


def snat_ns(f: Facts) -> str:
    assert f.router is not None
    return f"snat-{f.router.id}"


def egress(f: Facts) -> tuple[str | None, str]:
    """(host, namespace) where the VM's traffic leaves for the external network."""
    if uses_fip(f):
        return f.compute, fip_ns(f)
    return snat_host(f), snat_ns(f)


def namespace(found: list[Namespace] | Unprobed | None, name: str) -> Namespace | None:
    if not isinstance(found, list):
        return None
    return next((n for n in found if n.name == name), None)


def _routed(f: Facts) -> bool:
    return f.router is not None and f.port is not None


async def _netns(g: Gatherer) -> PerHost[list[Namespace]]:
    """The router's namespaces (and their interfaces) on the compute node and on the SNAT node: only those,
    not every namespace of a network node (its agent reads each one's interfaces, ~0.1 s apiece when busy)."""
    f = g.f
    if not _routed(g.f):
        return {}
    hosts = [h for h in dict.fromkeys([f.compute, snat_host(f)]) if h]
    names = [qrouter_ns(f), fip_ns(f), snat_ns(f)] if f.router and f.router.has_gateway else [qrouter_ns(f)]
    return await g.each(hosts, lambda n: api.namespaces(g.client, n, names))


async def _local_nat(g: Gatherer) -> IptablesResponse | Unprobed | None:
    """iptables -t nat of the router's namespace on the VM's compute node (floating IP rules live there)."""
    f = g.f
    if not _routed(f) or not f.compute:
        return None
    return await g.on(f.compute, lambda n: api.iptables(g.client, n, qrouter_ns(f), "nat"))


async def _snat_nat(g: Gatherer) -> IptablesResponse | Unprobed | None:
    """iptables -t nat of the snat- namespace on the SNAT node."""
    f = g.f
    host = snat_host(f) if _routed(f) else None
    if not host:
        return None
    return await g.on(host, lambda n: api.iptables(g.client, n, snat_ns(f), "nat"))


async def _from_router(g: Gatherer) -> Ping | Unprobed | None:
    """The VM pinged from its own compute node's qrouter- (its first hop)."""
    f = g.f
    ns = await g.get(NETNS)
    if (
        not _routed(f)
        or not f.fixed_ip
        or ":" in f.fixed_ip
        or namespace(ns.get(f.compute or ""), qrouter_ns(f)) is None
    ):
        return None
    return await g.ping(f.compute, [f.fixed_ip], netns=qrouter_ns(f))


async def _egress_ns(g: Gatherer) -> tuple[str, str] | None:
    f = g.f
    if not _routed(f) or f.router is None or not f.router.has_gateway:
        return None
    host, ns = egress(f)
    found = await g.get(NETNS)
    if not host or namespace(found.get(host), ns) is None:
        return None
    return host, ns


async def _gateway(g: Gatherer) -> Ping | Unprobed | None:
    """The external subnet's gateway pinged from where the VM's traffic leaves (fip- or snat-)."""
    f = g.f
    at = await _egress_ns(g)
    gw = f.external_subnet.gateway_ip if f.external_subnet else None
    if at is None or not gw:
        return None
    return await g.ping(at[0], [gw], netns=at[1])


async def _to(g: Gatherer) -> Ping | TcpConnectResult | Unprobed | None:
    """--to ADDRESS (ping) or ADDRESS:PORT (TCP connect) from the snat- namespace.

    Always from snat-: a fip- namespace routes only what comes from its router (its default route is in
    a table for ``iif fpr-``), so it cannot originate a probe beyond the external network's gateway."""
    f = g.f
    host = snat_host(f) if _routed(f) else None
    found = await g.get(NETNS)
    if not host or f.to is None or namespace(found.get(host), snat_ns(f)) is None:
        return None
    ns = snat_ns(f)
    if f.to.tcp_port:
        req = TcpConnectRequest(address=f.to.address, port=f.to.tcp_port, netns=ns, timeout=3)
        return await g.on(host, lambda n: api.tcp_connect(g.client, n, req))
    return await g.ping(host, [f.to.address], netns=ns)


async def _dvr_macs(g: Gatherer) -> PerHost[list[str]]:
    """br-int flows of the compute and SNAT nodes (each lists the other hosts' DVR MACs it knows)."""
    f = g.f
    if not _routed(f):
        return {}
    hosts = [h for h in dict.fromkeys([f.compute, snat_host(f)]) if h]
    bridges: dict[str, object] = {}
    for h in hosts:
        agent = f.l2_agent(h)
        bridges[h] = agent.configuration.get("integration_bridge") if agent else None

    async def flows(host: str) -> list[str] | Unprobed:
        got = await g.on(host, lambda n: api.ovs_flows(g.client, n, str(bridges[host] or "br-int")))
        return got if isinstance(got, Unprobed) else got.flows

    values = await asyncio.gather(*(flows(h) for h in hosts))
    return dict(zip(hosts, values))


NETNS: Kind[PerHost[list[Namespace]]] = KINDS.add(Kind("dvr_netns", _netns, dict))
LOCAL_NAT: Kind[IptablesResponse | Unprobed | None] = KINDS.add(Kind("dvr_local_nat", _local_nat, nothing))
SNAT_NAT: Kind[IptablesResponse | Unprobed | None] = KINDS.add(Kind("dvr_snat_nat", _snat_nat, nothing))
FROM_ROUTER: Kind[Ping | Unprobed | None] = KINDS.add(Kind("dvr_from_router", _from_router, nothing))
GATEWAY: Kind[Ping | Unprobed | None] = KINDS.add(Kind("dvr_gateway", _gateway, nothing))
TO: Kind[Ping | TcpConnectResult | Unprobed | None] = KINDS.add(Kind("dvr_to", _to, nothing))
INT_FLOWS: Kind[PerHost[list[str]]] = KINDS.add(Kind("dvr_int_flows", _dvr_macs, dict))
