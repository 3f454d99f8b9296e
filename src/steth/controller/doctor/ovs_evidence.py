"""Evidence of the switching path of an ML2/Open vSwitch port, from the steth agents: the Open vSwitch
of the compute and network nodes, the underlay between them, a DHCP trace and the VM's own frames.

Each kind is collected once per run; the plan follows Neutron's facts. Nothing here judges.
"""

from __future__ import annotations

import asyncio

from ...wire import encap
from ...wire.models import Interface, OvsBridgeInfo, OvsFlowsResponse, OvsInterfaceInfo, OvsPortInfo, OvsShowResponse
from ...wire.models import PingResponse as Ping
from .. import api
from ..capture import CaptureRun, Hop
from ..checks import dhcp as dhcp_check
from ..checks import vlan as vlan_check
from ..checks.vlan import VlanReport
from ..decode import Summary, summarize
from .evidence import KINDS, Gatherer, Kind, PerHost, Unprobed, guarded, nothing
from .facts import Facts

ENCAP_OVERHEAD = encap.OVERHEAD_IPV4  # the tunnel endpoints doctor probes are IPv4
SPOOF_WINDOW = 3.0  # seconds of the VM's own traffic looked at on its tap
DHCP_WINDOW = 6.0  # dnsmasq may wait ~3 s before an OFFER
DHCP_SETTLE = 4.0  # once Neutron's dnsmasq answered (static leases: at once), time left for a rogue's OFFER
Vif = tuple[OvsBridgeInfo, OvsPortInfo, OvsInterfaceInfo]


def bridge_nic(shown: OvsShowResponse | Unprobed | None, bridge: str | None) -> str | None:
    """The first NIC on an OVS bridge of a node's ``ovs show`` (None when unknown or without one)."""
    br = shown.bridge(bridge) if bridge and isinstance(shown, OvsShowResponse) else None
    good = br.nics()[0] if br else []
    return good[0] if good else None


def physnet_nic(f: Facts, ovs: PerHost[OvsShowResponse], host: str | None, physnet: str | None) -> str | None:
    """The NIC carrying ``physnet`` on ``host``: its agent's bridge mapping, then that bridge's NIC."""
    agent = f.l2_agent(host)
    if agent is None or not physnet:
        return None
    return bridge_nic(ovs.get(host or ""), agent.bridge_mappings.get(physnet))


def vif(f: Facts, ovs: PerHost[OvsShowResponse]) -> Vif | None:
    """(bridge, port, interface) of the VM's VIF on the compute node's Open vSwitch, or None."""
    shown = ovs.get(f.compute or "")
    return shown.with_iface_id(f.vm_port.id) if isinstance(shown, OvsShowResponse) else None


def tunnel_ip(f: Facts, host: str | None) -> str | None:
    agent = f.l2_agent(host)
    return agent.tunnel_ip if agent else None


def _tunnelled(f: Facts) -> str | None:
    """The tunnel type when the port's path crosses a tunnel from a compute node with a tunnel IP."""
    seg = f.segment
    if seg is None or seg.network_type not in ENCAP_OVERHEAD or not f.compute or not f.peers:
        return None
    return seg.network_type if tunnel_ip(f, f.compute) else None


async def _ovs(g: Gatherer) -> PerHost[OvsShowResponse]:
    hosts = [h for h in [g.f.compute, *g.f.peers] if h]
    return await g.each(hosts, lambda n: api.ovs_show(g.client, n))


async def _interfaces(g: Gatherer) -> PerHost[list[Interface]]:
    """The NICs of every node on a VLAN or flat path (their MTU must carry the network's)."""
    f = g.f
    seg = f.segment
    if seg is None or seg.network_type not in ("vlan", "flat") or not f.compute or not f.peers:
        return {}
    return await g.each([f.compute, *f.peers], lambda n: api.interfaces(g.client, n))


async def _tunnel_ping(g: Gatherer) -> PerHost[Ping]:
    """Small pings between the tunnel endpoints (the agents' tunneling_ip), compute -> each peer."""
    return await _tunnel_pings(g, full_size=False)


async def _mtu_ping(g: Gatherer) -> PerHost[Ping]:
    """Pings of a full encapsulated packet's size with DF between the tunnel endpoints."""
    return await _tunnel_pings(g, full_size=True)


async def _tunnel_pings(g: Gatherer, full_size: bool) -> PerHost[Ping]:
    f = g.f
    net_type = _tunnelled(f)
    if net_type is None:
        return {}
    src = tunnel_ip(f, f.compute)
    size = (f.vm_network.mtu or 1500) + ENCAP_OVERHEAD[net_type] - 28  # ICMP payload of a full outer packet
    out: PerHost[Ping] = {}
    ends = {peer: tunnel_ip(f, peer) for peer in f.peers}
    if not full_size:  # said once, by the small pings' row
        out.update({p: Unprobed(f"Neutron reports no tunneling_ip for {p}") for p, dst in ends.items() if not dst})
    probed = [(p, dst) for p, dst in ends.items() if dst]
    if full_size:
        pings = [g.ping(f.compute, [dst], source=src, size=size, dont_fragment=True) for _, dst in probed]
    else:
        pings = [g.ping(f.compute, [dst], source=src) for _, dst in probed]
    out.update(zip([p for p, _ in probed], await asyncio.gather(*pings)))
    return {p: out[p] for p in f.peers if p in out}  # in the peers' order


async def _flood_flows(g: Gatherer) -> OvsFlowsResponse | Unprobed | None:
    """br-tun's table 22 on the compute node: where broadcasts of each local VLAN are flooded."""
    if _tunnelled(g.f) is None:
        return None
    return await g.on(g.f.compute, lambda n: api.ovs_flows(g.client, n, "br-tun", 22))


async def _vlan(g: Gatherer) -> VlanReport | Unprobed | None:
    """802.1Q frames of the segment's VLAN sent between the compute node and the peers' physnet NICs."""
    f = g.f
    seg = f.segment
    if seg is None or seg.network_type != "vlan" or not seg.segmentation_id or not f.compute or not f.peers:
        return None
    ovs = await g.get(OVS)
    hosts = [f.compute, *f.peers]
    nics = {h: physnet_nic(f, ovs, h, seg.physical_network) for h in hosts}
    missing = [h for h, n in nics.items() if not n]
    if missing:
        return Unprobed(f"no NIC on the bridge of physnet {seg.physical_network} on {', '.join(missing)}")
    if len(set(nics.values())) != 1:
        return Unprobed(
            f"the physnet NIC differs between nodes ({nics}); check the trunk with `steth check vlan` per node"
        )
    return await guarded(_vlan_run(g, hosts, seg.segmentation_id, next(iter(nics.values()))))


async def _vlan_run(g: Gatherer, hosts: list[str], seg_id: int, nic: str | None) -> VlanReport:
    nodes = [g.node(h) for h in hosts]
    return await vlan_check.run_check(g.client, g.config, nodes, [seg_id], interface=nic, duration=6.0)


async def _dhcp(g: Gatherer) -> dhcp_check.Analysis | Unprobed | None:
    """A DHCPDISCOVER injected as the VM and traced at every hop to the DHCP servers and back."""
    f = g.f
    ovs = await g.get(OVS)
    found = vif(f, ovs)
    if found is None or not f.subnet or not f.subnet.enable_dhcp:
        return None
    p = dhcp_check.plan(f.vm_port, f.vm_network, f.dhcp_ports, f.dhcp_hosts, uplink(f, ovs), ovs_port=found[2].name)
    got = await guarded(_dhcp_trace(g, p))
    if isinstance(got, dhcp_check.Analysis):
        dhcp_check.explain_tag(got, found[1])
    return got


async def _dhcp_trace(g: Gatherer, p: dhcp_check.Plan) -> dhcp_check.Analysis:
    nodes = {h.node: g.node(h.node) for h in p.hops}
    return await dhcp_check.trace(g.client, nodes, p, DHCP_WINDOW, DHCP_SETTLE)


def uplink(f: Facts, ovs: PerHost[OvsShowResponse], host: str | None = None) -> str:
    """A node's NIC that carries the network (physnet NIC, or the one with the tunnel IP); the compute
    node's by default."""
    host = host or f.compute
    seg = f.segment
    nic = physnet_nic(f, ovs, host, seg.physical_network if seg else None)
    agent = f.l2_agent(host)
    if not nic and agent:  # the tunnel endpoint usually rides a provider bridge
        shown = ovs.get(host or "")
        nic = next((n for n in (bridge_nic(shown, b) for b in agent.bridge_mappings.values()) if n), None)
    return nic or "eth1"


async def _vm_frames(g: Gatherer) -> list[Summary] | Unprobed | None:
    """What the VM itself sends: frames from its MAC on its tap, for a few seconds."""
    f = g.f
    found = vif(f, await g.get(OVS))
    if found is None:
        return None
    # the VM's own side: the tap (hybrid plugging puts qvo on br-int, the tap on qbr)
    tap = found[2].name if found[2].name.startswith("tap") else f"tap{f.vm_port.id[:11]}"
    return await guarded(capture_tap(g, tap))


async def capture_tap(g: Gatherer, tap: str) -> list[Summary]:
    f = g.f
    run = CaptureRun(
        g.client,
        g.config,
        [Hop(agent=f.compute or "", interface=tap)],
        filter=f"ether src {f.vm_port.mac_address} and (arp or ip)",
        duration=SPOOF_WINDOW,
        count=50,
    )
    await run.start()
    await run.stream()
    h = run.hops[0]
    if h.error:
        raise h.error
    return [summarize(p.linktype, p.data) for p in h.packets]


OVS: Kind[PerHost[OvsShowResponse]] = KINDS.add(Kind("ovs", _ovs, dict))
INTERFACES: Kind[PerHost[list[Interface]]] = KINDS.add(Kind("interfaces", _interfaces, dict))
TUNNEL_PING: Kind[PerHost[Ping]] = KINDS.add(Kind("tunnel_ping", _tunnel_ping, dict))
MTU_PING: Kind[PerHost[Ping]] = KINDS.add(Kind("mtu_ping", _mtu_ping, dict))
FLOOD_FLOWS: Kind[OvsFlowsResponse | Unprobed | None] = KINDS.add(Kind("flood_flows", _flood_flows, nothing))
VLAN: Kind[VlanReport | Unprobed | None] = KINDS.add(Kind("vlan", _vlan, nothing))
DHCP: Kind[dhcp_check.Analysis | Unprobed | None] = KINDS.add(Kind("dhcp", _dhcp, nothing))
VM_FRAMES: Kind[list[Summary] | Unprobed | None] = KINDS.add(Kind("vm_frames", _vm_frames, nothing))
