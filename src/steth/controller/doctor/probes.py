"""The data plane's evidence for one port: every agent probe at once, each result or its exception.

Nothing here judges; data.py turns the evidence into checks. Probes that need a
node without a configured steth agent hold an UnknownAgentError instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...wire import encap
from ...wire.models import IptablesResponse, OvsShowResponse, PingRequest, PingResponse, TcpConnectRequest
from .. import api
from ..capture import CaptureRun, Hop
from ..checks import dhcp as dhcp_check
from ..checks import vlan as vlan_check
from ..client import AgentClient
from ..config import ControllerConfig, NodeConfig
from ..decode import Summary, summarize
from ..inventory import resolve_node
from .facts import Facts

ENCAP_OVERHEAD = encap.OVERHEAD_IPV4  # the tunnel endpoints doctor probes are IPv4
SPOOF_WINDOW = 3.0  # seconds of the VM's own traffic looked at on its tap
DHCP_WINDOW = 6.0  # dnsmasq may wait ~3 s before an OFFER

Result = Any  # a response model, an analysis, or the exception the probe raised


@dataclass
class Evidence:
    compute: str | None = None
    peers: list[str] = field(default_factory=list)  # network nodes on the path (DHCP, L3)
    ovs: dict[str, Result] = field(default_factory=dict)  # host -> OvsShowResponse (all bridges)
    interfaces: dict[str, Result] = field(default_factory=dict)  # host -> list[Interface]
    tunnel_ping: dict[str, Result] = field(default_factory=dict)  # peer -> PingResponse (small packets)
    mtu_ping: dict[str, Result] = field(default_factory=dict)  # peer -> PingResponse (DF, full size)
    flood_flows: Result = None  # OvsFlowsResponse of br-tun table 22 on the compute node
    vlan: Result = None  # VlanReport for the segmentation id, compute <-> peers
    dhcp: Result = None  # dhcp_check.Analysis
    vm_frames: Result = None  # list[Summary] sent by the VM's MAC on its tap
    from_dhcp: dict[str, Result] = field(default_factory=dict)  # dhcp host -> PingResponse of the fixed IP
    from_router: Result = None  # PingResponse of the fixed IP from the qrouter namespace
    nat: Result = None  # IptablesResponse of the qrouter namespace
    router_gateway: Result = None  # PingResponse of the external subnet's gateway from qrouter
    to: Result = None  # PingResponse or TcpConnectResult from qrouter
    dns: Result = None  # PingResponse of the DNS servers from qrouter


def qdhcp(network_id: str) -> str:
    return f"qdhcp-{network_id}"


def qrouter(router_id: str) -> str:
    return f"qrouter-{router_id}"


def bridge_nic(shown: Any, bridge: str | None) -> str | None:
    """The first NIC on an OVS bridge of a node's ``ovs show`` (None when unknown or without one)."""
    br = shown.bridge(bridge) if bridge and isinstance(shown, OvsShowResponse) else None
    good = br.nics()[0] if br else []
    return good[0] if good else None


def physnet_nic(facts: Facts, ev: Evidence, host: str | None, physnet: str | None) -> str | None:
    """The NIC carrying ``physnet`` on ``host``: its agent's bridge mapping, then that bridge's NIC."""
    agent = facts.l2_agent(host)
    if agent is None or not physnet:
        return None
    return bridge_nic(ev.ovs.get(host or ""), agent.bridge_mappings.get(physnet))


def vif(ev: Evidence, port_id: str):
    """(bridge, port, interface) of the VM's VIF on the compute node's OVS, or None."""
    shown = ev.ovs.get(ev.compute or "")
    return shown.with_iface_id(port_id) if isinstance(shown, OvsShowResponse) else None


async def _safe(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except Exception as exc:  # evidence too: the check says the probe could not run
        return exc


class Collector:
    """Plans and runs the probes for one port (the plan follows Neutron's facts)."""

    def __init__(self, client: AgentClient, config: ControllerConfig, facts: Facts) -> None:
        self.client = client
        self.config = config
        self.f = facts
        self.ev = Evidence()

    def node(self, host: str | None) -> NodeConfig:
        return resolve_node(self.config, host or "(unbound)")

    async def on(self, host: str | None, call: Callable[[NodeConfig], Awaitable[Any]]) -> Any:
        """``call(node)`` on the host's agent; an unknown host or a failed call is returned, not raised."""
        try:
            node = self.node(host)
        except Exception as exc:
            return exc
        return await _safe(call(node))

    async def ping(self, host: str | None, targets: list[str], **kw: Any) -> PingResponse:
        req = PingRequest(targets=targets, **{"count": 3, "interval": 0.1, "timeout": 1.0, **kw})
        return await self.on(host, lambda n: api.ping(self.client, n, req))

    async def run(self) -> Evidence:
        f, ev = self.f, self.ev
        port = f.port
        if port is None or f.network is None:
            return ev
        ev.compute = port.binding_host
        peers = [h for h in [*f.dhcp_hosts, f.l3_host] if h and h != port.binding_host]
        ev.peers = list(dict.fromkeys(peers))
        # first: OVS state everywhere (the rest of the plan needs the VM's br-int port and the bridges)
        hosts = [h for h in [ev.compute, *ev.peers] if h]
        shown = await asyncio.gather(*(self.on(h, lambda n: api.ovs_show(self.client, n)) for h in hosts))
        ev.ovs = dict(zip(hosts, shown))
        jobs = [self._underlay(), self._dhcp(), self._vm_frames(), self._from_dhcp(), self._router()]
        await asyncio.gather(*jobs)
        return ev

    # --- underlay between the compute node and the network nodes ---
    async def _underlay(self) -> None:
        f, ev = self.f, self.ev
        seg = f.network.segment if f.network else None
        if seg is None or not ev.compute or not ev.peers:
            return
        if seg.network_type in ENCAP_OVERHEAD:
            await self._tunnels(seg.network_type)
        elif seg.network_type in ("vlan", "flat"):
            await self._vlan(seg.network_type, seg.physical_network, seg.segmentation_id)

    def tunnel_ip(self, host: str | None) -> str | None:
        agent = self.f.l2_agent(host)
        return agent.tunnel_ip if agent else None

    async def _tunnels(self, net_type: str) -> None:
        f, ev = self.f, self.ev
        src = self.tunnel_ip(ev.compute)
        if not src:
            return
        size = (f.network.mtu or 1500) + ENCAP_OVERHEAD[net_type] - 28  # ICMP payload of a full outer packet

        async def pair(peer: str) -> None:
            dst = self.tunnel_ip(peer)
            if not dst:
                ev.tunnel_ping[peer] = LookupError(f"Neutron reports no tunneling_ip for {peer}")
                return
            ev.tunnel_ping[peer] = await self.ping(ev.compute, [dst], source=src)
            ev.mtu_ping[peer] = await self.ping(ev.compute, [dst], source=src, size=size, dont_fragment=True)

        await asyncio.gather(*(pair(p) for p in ev.peers), self._flows(), self._interfaces([ev.compute]))

    async def _flows(self) -> None:
        self.ev.flood_flows = await self.on(self.ev.compute, lambda n: api.ovs_flows(self.client, n, "br-tun", 22))

    async def _interfaces(self, hosts: list[str]) -> None:
        got = await asyncio.gather(*(self.on(h, lambda n: api.interfaces(self.client, n)) for h in hosts))
        self.ev.interfaces.update(dict(zip(hosts, got)))

    async def _vlan(self, net_type: str, physnet: str | None, seg_id: int | None) -> None:
        ev = self.ev
        hosts = [ev.compute, *ev.peers]
        await self._interfaces(hosts)
        if net_type != "vlan" or not seg_id:
            return
        nics = {h: physnet_nic(self.f, ev, h, physnet) for h in hosts}
        missing = [h for h, n in nics.items() if not n]
        if missing:
            ev.vlan = LookupError(f"no NIC on the bridge of physnet {physnet} on {', '.join(missing)}")
            return
        if len(set(nics.values())) != 1:
            ev.vlan = LookupError(
                f"the physnet NIC differs between nodes ({nics}); check the trunk with `steth check vlan` per node"
            )
            return
        try:
            nodes = [self.node(h) for h in hosts]
        except Exception as exc:
            ev.vlan = exc
            return
        ev.vlan = await _safe(
            vlan_check.run_check(
                self.client, self.config, nodes, [seg_id], interface=next(iter(nics.values())), duration=6.0
            )
        )

    # --- DHCP, the VM's own frames, reachability ---
    async def _dhcp(self) -> None:
        f, ev = self.f, self.ev
        found = vif(ev, f.port.id)
        if found is None or not f.subnet or not f.subnet.enable_dhcp:
            return
        uplink = self._uplink()
        p = dhcp_check.plan(f.port, f.network, f.dhcp_ports, f.dhcp_hosts, uplink, ovs_port=found[2].name)
        try:
            nodes = {h.node: self.node(h.node) for h in p.hops}
        except Exception as exc:
            ev.dhcp = exc
            return
        ev.dhcp = await _safe(dhcp_check.trace(self.client, nodes, p, DHCP_WINDOW))
        if isinstance(ev.dhcp, dhcp_check.Analysis):
            dhcp_check.explain_tag(ev.dhcp, found[1])

    def _uplink(self) -> str:
        """The compute node's NIC that carries the network (physnet NIC, or the one with the tunnel IP)."""
        f, ev = self.f, self.ev
        seg = f.network.segment
        nic = physnet_nic(f, ev, ev.compute, seg.physical_network if seg else None)
        agent = f.l2_agent(ev.compute)
        if not nic and agent:  # the tunnel endpoint usually rides a provider bridge
            nic = next(
                (n for n in (bridge_nic(ev.ovs.get(ev.compute or ""), b) for b in agent.bridge_mappings.values()) if n),
                None,
            )
        return nic or "eth1"

    async def _vm_frames(self) -> None:
        f, ev = self.f, self.ev
        found = vif(ev, f.port.id)
        if found is None:
            return
        # the VM's own side: the tap (hybrid plugging puts qvo on br-int, the tap on qbr)
        tap = found[2].name if found[2].name.startswith("tap") else f"tap{f.port.id[:11]}"

        async def capture() -> list[Summary]:
            run = CaptureRun(
                self.client,
                self.config,
                [Hop(agent=ev.compute, interface=tap)],
                filter=f"ether src {f.port.mac_address} and (arp or ip)",
                duration=SPOOF_WINDOW,
                count=50,
            )
            await run.start()
            await run.stream()
            h = run.hops[0]
            if h.error:
                raise h.error
            return [summarize(p.linktype, p.data) for p in h.packets]

        ev.vm_frames = await _safe(capture())

    async def _from_dhcp(self) -> None:
        f, ev = self.f, self.ev
        ip = f.fixed_ip
        if not ip or ":" in ip:
            return
        hosts = f.dhcp_hosts
        got = await asyncio.gather(*(self.ping(h, [ip], netns=qdhcp(f.network.id)) for h in hosts))
        ev.from_dhcp = dict(zip(hosts, got))

    async def _router(self) -> None:
        f, ev = self.f, self.ev
        if f.router is None or not f.l3_host:
            return
        host, ns = f.l3_host, qrouter(f.router.id)
        ev.nat = await self.on(host, lambda n: api.iptables(self.client, n, ns, "nat"))
        if isinstance(ev.nat, IptablesResponse) and "does not exist" in ev.nat.detail:
            return  # no namespace: nothing to probe from
        jobs: list[Awaitable[Any]] = []
        if f.fixed_ip and ":" not in f.fixed_ip:
            jobs.append(self._set("from_router", self.ping(host, [f.fixed_ip], netns=ns)))
        if f.router.has_gateway and f.external_subnet and f.external_subnet.gateway_ip:
            jobs.append(self._set("router_gateway", self.ping(host, [f.external_subnet.gateway_ip], netns=ns)))
        if f.to and f.router.has_gateway:
            if f.to.tcp_port:
                req = TcpConnectRequest(address=f.to.address, port=f.to.tcp_port, netns=ns, timeout=3)
                jobs.append(self._set("to", self.on(host, lambda n: api.tcp_connect(self.client, n, req))))
            else:
                jobs.append(self._set("to", self.ping(host, [f.to.address], netns=ns)))
        dns = [d for d in (f.subnet.dns_nameservers if f.subnet else []) if ":" not in d]
        if dns and f.router.has_gateway:
            jobs.append(self._set("dns", self.ping(host, dns, netns=ns)))
        await asyncio.gather(*jobs)

    async def _set(self, attr: str, coro: Awaitable[Any]) -> None:
        setattr(self.ev, attr, await _safe(coro))
