"""Evidence: the VM's own packet, captured at every hop at once, and the router namespace's forwarding state.

The probe goes to ``--to`` (ICMP, or a TCP SYN for ADDRESS:PORT), else to the subnet's gateway (the
router's qr- address), else to the DHCP server. Captures start on every hop (the /v1/captures route,
``CaptureRun``) and are armed before the compute node's agent injects a couple of frames as the VM
(/v1/inject/vm: the DHCP trace's injection). After a short window all captures stop and every hop's
frames are tallied (vm_path.py). Bounded: 2 frames, a window under a second, 200 frames per hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ...errors import StethError
from ...openstack.adapter import PortInfo
from ...wire.frames import GENEVE_PORT
from ...wire.models import IptablesResponse, OvsShowResponse, PingResponse, TcpConnectResult
from ...wire.vmprobe import RouterState, VmProbeRequest, VmProbeResponse
from .. import api
from ..capture import CaptureRun, Hop
from .evidence import KINDS, Gatherer, Kind, PerHost, Unprobed, nothing
from .facts import Facts
from .ns_evidence import ROUTER_GATEWAY, TO, qdhcp, qrouter
from .ovs_evidence import OVS, bridge_nic, uplink, vif
from .vm_path import PathHop, PathVerdict, ProbeId, judge, tally

WINDOW = 0.8  # seconds from the injection to the captures' stop: replies in a cloud take milliseconds
CAPTURE_LIMIT = 5.0  # each capture's own limit, should the controller vanish before stopping it
MAX_FRAMES = 200  # per hop
SNAPLEN = 512  # enough for a VXLAN-encapsulated ICMP error quoting the probe


@dataclass
class Target:
    address: str
    port: int | None  # TCP
    why: str  # "--to", "the subnet's gateway", "the DHCP server"
    via_router: bool
    beyond_router: bool  # out through the router's gateway (qg-)
    next_hop_mac: str


@dataclass
class VmProbe:
    target: Target
    hops: list[PathHop]
    injected: int
    detail: str
    verdict: PathVerdict
    seconds: float
    carriers: dict[str, str] = field(default_factory=dict)  # hop name -> what carries the packet there (a backend's)


def target_of(f: Facts) -> Target | None:
    """Where the VM's own packet goes, and through which next hop (MAC) it leaves the VM."""
    r, rp = f.router, f.router_port
    if f.to is not None:
        if ":" in f.to.address or rp is None or r is None:
            return None
        own = set(rp.ips) | set(r.gateway_ips)
        inside = f.subnet is not None and ipaddress.ip_address(f.to.address) in ipaddress.ip_network(f.subnet.cidr)
        if inside and f.to.address not in own:
            return None  # a neighbour on the VM's own network: no router on the path
        beyond = f.to.address not in own
        return Target(f.to.address, f.to.tcp_port, "--to", True, beyond, rp.mac_address)
    if rp is not None and f.subnet is not None and f.subnet.gateway_ip:
        return Target(f.subnet.gateway_ip, None, "the subnet's gateway", True, False, rp.mac_address)
    dhcp = next((p for p in f.dhcp_ports if any(":" not in ip for ip in p.ips)), None)
    if dhcp is not None:
        ip = next(ip for ip in dhcp.ips if ":" not in ip)
        return Target(ip, None, "the DHCP server", False, False, dhcp.mac_address)
    return None


Entry = dict[str, str | None]  # where the probe enters: interface (raw send), or bridge + ovs_port (packet-out)
Planner = Callable[[Gatherer, Target], Awaitable[tuple[list[PathHop], Entry]]]


def injection(f: Facts, ovs: PerHost[OvsShowResponse]) -> tuple[list[PathHop], Entry]:
    """The VM's own hops on its compute node (tap, qvo) and where the probe enters br-int: the start of
    every ML2/OVS plan (legacy routers and DVR alike)."""
    found = vif(f, ovs)
    assert found is not None
    bridge, _port, iface = found
    compute = f.compute or ""
    pid = f.vm_port.id[:11]
    hops: list[PathHop] = []
    if iface.name.startswith("qvo"):  # hybrid plugging: raw on qvb crosses qvo into br-int
        # (not captured on qvb, where it is sent: an agent runs at most 4 captures, the tap's spoofing
        # capture is one of them)
        hops += [PathHop(compute, "vm-tap", f"tap{pid}", request=False), PathHop(compute, "qvo", iface.name)]
        entry: dict[str, str | None] = {"interface": f"qvb{pid}", "bridge": None, "ovs_port": None}
    else:  # as if received on the VM's port of br-int (OpenFlow packet-out)
        hops.append(PathHop(compute, "vm-tap", iface.name, request=False))
        entry = {"interface": None, "bridge": bridge.name, "ovs_port": iface.name}
    return hops, entry


def plan(f: Facts, ovs: PerHost[OvsShowResponse], t: Target) -> tuple[list[PathHop], Entry]:
    """The hops in the request's order, and where the probe enters (interface, or bridge + ovs_port)."""
    hops, entry = injection(f, ovs)
    compute = f.compute or ""
    far = f.l3_host if t.via_router else _dhcp_host(f, t)
    if far and far != compute:
        hops.append(PathHop(compute, "compute-uplink", uplink(f, ovs, compute)))
        hops.append(PathHop(far, "network-uplink", uplink(f, ovs, far)))
    if t.via_router and f.router is not None and f.router_port is not None and far:
        ns = qrouter(f.router.id)
        hops.append(PathHop(far, "qr", f"qr-{f.router_port.id[:11]}", ns))
        if t.beyond_router and f.gateway_port is not None:
            hops.append(PathHop(far, "qg", f"qg-{f.gateway_port.id[:11]}", ns))
            ext = external_nic(f, ovs, far)
            if ext:
                hops.append(PathHop(far, "external", ext))
    elif not t.via_router and far:
        dp = next((p for p in f.dhcp_ports if t.address in p.ips), None)
        if dp is not None:
            hops.append(PathHop(far, "qdhcp", f"tap{dp.id[:11]}", qdhcp(f.vm_network.id)))
    return hops, entry


def _dhcp_host(f: Facts, t: Target) -> str | None:
    dp: PortInfo | None = next((p for p in f.dhcp_ports if t.address in p.ips), None)
    return dp.binding_host if dp else None


def external_nic(f: Facts, ovs: PerHost[OvsShowResponse], host: str) -> str | None:
    """The NIC of the bridge carrying the external network on the router's host (br-ex's port)."""
    agent = f.l2_agent(host)
    seg = f.external_network.segment if f.external_network else None
    if agent is None or seg is None or not seg.physical_network:
        return None
    return bridge_nic(ovs.get(host), agent.bridge_mappings.get(seg.physical_network))


def bpf(t: Target, vxlan_ports: tuple[int, ...] = (4789,)) -> str:
    base = "icmp" if t.port is None else f"icmp or tcp port {t.port}"
    tunnels = " or ".join(f"udp port {p}" for p in (*vxlan_ports, GENEVE_PORT))  # VXLAN (the backend's), Geneve (OVN)
    return f"{base} or {tunnels} or (vlan and ({base} or {tunnels}))"


async def _ovs_plan(g: Gatherer, t: Target) -> tuple[list[PathHop], Entry]:
    return plan(g.f, await g.get(OVS), t)


async def _vm_probe(g: Gatherer) -> VmProbe | Unprobed | None:
    return await own_packet(g, _ovs_plan)


async def own_packet(g: Gatherer, planner: Planner) -> VmProbe | Unprobed | None:
    """The VM's own packet along the hops ``planner`` gives (a backend's plan: a chain's Collector of VM_PROBE
    passes its own)."""
    f = g.f
    t = target_of(f)
    fixed = f.fixed_ip
    if t is None or not fixed or ":" in fixed:
        return None
    ovs = await g.get(OVS)
    if vif(f, ovs) is None:
        return None  # not on br-int: nothing to inject from (the port check says so)
    hops, entry = await planner(g, t)
    return await probe_path(g, t, fixed, hops, entry)


async def probe_path(
    g: Gatherer, t: Target, fixed: str, hops: list[PathHop], entry: Entry, vxlan_ports: tuple[int, ...] = (4789,)
) -> VmProbe | Unprobed:
    """Inject the VM's packet at ``entry`` (a backend's hop plan: interface, or bridge + ovs_port) with every
    hop's capture armed, and judge where it went."""
    f = g.f
    token = secrets.token_hex(8)
    req = VmProbeRequest(
        mac=f.vm_port.mac_address,
        src_ip=fixed,
        gateway_mac=t.next_hop_mac,
        dst_ip=t.address,
        protocol="tcp" if t.port else "icmp",
        port=t.port,
        ident=random.randint(33000, 60999),
        token=token,
        **entry,
    )
    t0 = time.monotonic()
    got = await run_path(g, hops, t, req, vxlan_ports)
    if isinstance(got, Unprobed):
        return got
    probe = ProbeId(req.protocol, token, t.port)
    for h, packets in zip(hops, got[1]):
        tally(h, packets, probe)
    where = f"{t.address}:{t.port}" if t.port else t.address
    return VmProbe(t, hops, got[0].injected, got[0].detail, judge(hops, got[0].injected, where), time.monotonic() - t0)


async def run_path(
    g: Gatherer, hops: list[PathHop], t: Target, req: VmProbeRequest, vxlan_ports: tuple[int, ...] = (4789,)
) -> tuple[VmProbeResponse, list[list[tuple[int, bytes]]]] | Unprobed:
    """Arm a capture on every hop, inject, wait the window, stop, collect. A hop whose capture cannot
    start keeps its error; the injection's failure makes the probe Unprobed."""
    for h in hops:  # an uplink's tunnel endpoint: its L2 agent's tunneling_ip (OVN's plan sets its encap IPs)
        agent = g.f.l2_agent(h.node)
        if h.name.endswith("uplink") and not h.endpoints and agent is not None and agent.tunnel_ip:
            h.endpoints = frozenset({agent.tunnel_ip})
    runs: list[CaptureRun | None] = []
    for h in hops:
        try:
            runs.append(
                CaptureRun(
                    g.client,
                    g.config,
                    [Hop(h.node, h.interface, h.netns)],
                    filter=bpf(t, vxlan_ports),
                    duration=CAPTURE_LIMIT,
                    count=MAX_FRAMES,
                    snaplen=SNAPLEN,
                    immediate=True,
                )
            )
        except StethError as exc:  # no agent for the node
            h.error = exc.message
            runs.append(None)
    started = await asyncio.gather(*(_start(r) for r in runs))
    for h, err in zip(hops, started):
        h.error = h.error or err
    live = [r for r, h in zip(runs, hops) if r is not None and not h.error]
    streams = [asyncio.ensure_future(r.stream()) for r in live]
    try:
        sent = await g.on(g.f.compute, lambda n: api.inject_vm(g.client, n, req))
        if not isinstance(sent, Unprobed):
            await asyncio.sleep(WINDOW)
    finally:
        await asyncio.gather(*(r.stop_all() for r in live), return_exceptions=True)
        await asyncio.gather(*streams, return_exceptions=True)
    if isinstance(sent, Unprobed):
        return sent
    if sent.injected == 0:
        return Unprobed(f"could not inject the VM's packet on {g.f.compute}: {sent.detail}")
    packets: list[list[tuple[int, bytes]]] = []
    for r, h in zip(runs, hops):
        hc = r.hops[0] if r is not None else None
        if hc is not None and hc.error and not h.error:
            h.error = str(hc.error)
        packets.append([(p.linktype, p.data) for p in hc.packets] if hc is not None else [])
    return sent, packets


async def _start(run: CaptureRun | None) -> str | None:
    if run is None:
        return None
    try:
        await run.start()
    except StethError as exc:
        return exc.message
    return None


def failed(res: object) -> bool:
    """A ping that got no answer, or a TCP connection that did not connect."""
    if isinstance(res, PingResponse):
        return not all(r.received > 0 for r in res.results)
    return isinstance(res, TcpConnectResult) and not res.connected


@dataclass
class RouterForwarding:
    state: RouterState | Unprobed
    filter: IptablesResponse | Unprobed


async def _router_forwarding(g: Gatherer) -> RouterForwarding | None:
    """The router namespace's ip_forward, routes, links and filter table, on its L3 agent's host: read
    when a probe through the router failed (the VM's own packet, --to, the external gateway), to explain it."""
    f = g.f
    if f.router is None or not f.l3_host:
        return None
    probe, to, gw = await asyncio.gather(g.get(VM_PROBE), g.get(TO), g.get(ROUTER_GATEWAY))
    if not (isinstance(probe, VmProbe) and not probe.verdict.ok) and not failed(to) and not failed(gw):
        return None
    ns = qrouter(f.router.id)
    state, filt = await asyncio.gather(
        g.on(f.l3_host, lambda n: api.router_state(g.client, n, ns)),
        g.on(f.l3_host, lambda n: api.iptables(g.client, n, ns, "filter")),
    )
    return RouterForwarding(state, filt)


VM_PROBE: Kind[VmProbe | Unprobed | None] = KINDS.add(Kind("vm_probe", _vm_probe, nothing))
ROUTER_FORWARDING: Kind[RouterForwarding | None] = KINDS.add(Kind("router_forwarding", _router_forwarding, nothing))
