"""Evidence from inside Neutron's namespaces on the network nodes: pings of the VM from ``qdhcp-``,
and from ``qrouter-`` its NAT rules, the VM, the external gateway, the destination and DNS servers."""

from __future__ import annotations

import asyncio

from ...wire.models import IptablesResponse, TcpConnectRequest, TcpConnectResult
from ...wire.models import PingResponse as Ping
from .. import api
from .evidence import KINDS, Gatherer, Kind, PerHost, Unprobed, nothing


def qdhcp(network_id: str) -> str:
    return f"qdhcp-{network_id}"


def qrouter(router_id: str) -> str:
    return f"qrouter-{router_id}"


async def _from_dhcp(g: Gatherer) -> PerHost[Ping]:
    """The VM's fixed IP pinged from the DHCP namespace on every DHCP host."""
    f = g.f
    ip = f.fixed_ip
    if not ip or ":" in ip:
        return {}
    hosts = f.dhcp_hosts
    got = await asyncio.gather(*(g.ping(h, [ip], netns=qdhcp(f.vm_network.id)) for h in hosts))
    return dict(zip(hosts, got))


async def _nat(g: Gatherer) -> IptablesResponse | Unprobed | None:
    """iptables -t nat of the router's namespace on its L3 agent's host (also: does the namespace exist)."""
    f = g.f
    if f.router is None or not f.l3_host:
        return None
    ns = qrouter(f.router.id)
    return await g.on(f.l3_host, lambda n: api.iptables(g.client, n, ns, "nat"))


async def _router_ns(g: Gatherer) -> tuple[str, str] | None:
    """(host, namespace) to probe from inside the router, once its NAT table was read; None without one."""
    f = g.f
    nat = await g.get(NAT)
    if f.router is None or not f.l3_host or nat is None:
        return None
    if isinstance(nat, IptablesResponse) and "does not exist" in nat.detail:
        return None  # no namespace: nothing to probe from
    return f.l3_host, qrouter(f.router.id)


async def _from_router(g: Gatherer) -> Ping | Unprobed | None:
    f = g.f
    at = await _router_ns(g)
    if at is None or not f.fixed_ip or ":" in f.fixed_ip:
        return None
    return await g.ping(at[0], [f.fixed_ip], netns=at[1])


async def _router_gateway(g: Gatherer) -> Ping | Unprobed | None:
    """The external subnet's gateway pinged from the router."""
    f = g.f
    at = await _router_ns(g)
    gw = f.external_subnet.gateway_ip if f.external_subnet else None
    if at is None or f.router is None or not f.router.has_gateway or not gw:
        return None
    return await g.ping(at[0], [gw], netns=at[1])


async def _to(g: Gatherer) -> Ping | TcpConnectResult | Unprobed | None:
    """--to ADDRESS (ping) or ADDRESS:PORT (TCP connect) from the router."""
    f = g.f
    at = await _router_ns(g)
    if at is None or f.to is None or f.router is None or not f.router.has_gateway:
        return None
    host, ns = at
    if f.to.tcp_port:
        req = TcpConnectRequest(address=f.to.address, port=f.to.tcp_port, netns=ns, timeout=3)
        return await g.on(host, lambda n: api.tcp_connect(g.client, n, req))
    return await g.ping(host, [f.to.address], netns=ns)


async def _dns(g: Gatherer) -> Ping | Unprobed | None:
    """The subnet's (IPv4) DNS servers pinged from the router."""
    f = g.f
    at = await _router_ns(g)
    dns = [d for d in (f.subnet.dns_nameservers if f.subnet else []) if ":" not in d]
    if at is None or not dns or f.router is None or not f.router.has_gateway:
        return None
    return await g.ping(at[0], dns, netns=at[1])


FROM_DHCP: Kind[PerHost[Ping]] = KINDS.add(Kind("from_dhcp", _from_dhcp, dict))
NAT: Kind[IptablesResponse | Unprobed | None] = KINDS.add(Kind("nat", _nat, nothing))
FROM_ROUTER: Kind[Ping | Unprobed | None] = KINDS.add(Kind("from_router", _from_router, nothing))
ROUTER_GATEWAY: Kind[Ping | Unprobed | None] = KINDS.add(Kind("router_gateway", _router_gateway, nothing))
TO: Kind[Ping | TcpConnectResult | Unprobed | None] = KINDS.add(Kind("to", _to, nothing))
DNS: Kind[Ping | Unprobed | None] = KINDS.add(Kind("dns", _dns, nothing))
