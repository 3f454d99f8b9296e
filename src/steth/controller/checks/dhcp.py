"""DHCP check of one port: plan the hops, run the traces on compute and network nodes, find where it stops.

Path of the DISCOVER (hybrid plugging): qvb (injected here) -> qvo -> compute uplink ->
network uplink -> qdhcp tap (dnsmasq); the OFFER goes back the same way to the VM's tap.
With direct plugging the DISCOVER is injected into br-int as if received on the VM's
tap (OpenFlow packet-out), so the first hop that can see it is the compute uplink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import StethError
from ...openstack.adapter import NetworkInfo, PortInfo
from ...wire.models import (
    DhcpCaptureSpec,
    DhcpHop,
    DhcpInjectSpec,
    DhcpTraceRequest,
    DhcpTraceResponse,
    OvsPortInfo,
    Verdict,
)

if TYPE_CHECKING:
    from ..client import AgentClient
    from ..config import NodeConfig


@dataclass
class HopPlan:
    node: str
    name: str
    interface: str
    netns: str | None = None
    discover: bool = True  # expected on the DISCOVER path (in this order)
    offer: bool = True  # expected on the OFFER path (in reverse order)


@dataclass
class Plan:
    port: PortInfo
    network: NetworkInfo
    hops: list[HopPlan]
    inject_node: str
    inject: DhcpInjectSpec
    neutron_servers: set[str]  # the DHCP ports' IPs (server identifiers Neutron's dnsmasq uses)
    notes: list[str] = field(default_factory=list)

    def requests(self, duration: float, xid: int, settle: float | None = None) -> dict[str, DhcpTraceRequest]:
        by_node: dict[str, list[DhcpCaptureSpec]] = {}
        for h in self.hops:
            specs = by_node.setdefault(h.node, [])
            if not any(s.interface == h.interface and s.netns == h.netns for s in specs):
                specs.append(DhcpCaptureSpec(name=h.name, interface=h.interface, netns=h.netns))
        return {
            node: DhcpTraceRequest(
                captures=specs,
                duration=duration,
                xid=xid,
                inject=self.inject if node == self.inject_node else None,
                settle=settle,
            )
            for node, specs in by_node.items()
        }


def short(port_id: str) -> str:
    return port_id[:11]


def plan(
    port: PortInfo,
    network: NetworkInfo,
    dhcp_ports: list[PortInfo],
    dhcp_hosts: list[str],
    uplink: str = "eth1",
    ovs_port: str | None = None,
    linux_bridge: str | None = None,
) -> Plan:
    """Hops on the port's host and on every host with a DHCP port of the network.

    ``ovs_port`` is the br-int port whose external_ids:iface-id is the port (found on the node):
    qvo... means hybrid plugging whatever vif_details say; without it, vif_details decide.
    ``linux_bridge`` (ML2/Linux bridge: the tap is in ``brq<net>``): the DISCOVER is sent on that bridge,
    which floods it to its ports (the VXLAN device or the physnet interface) as if the VM had sent it.
    """
    compute = port.binding_host or ""
    pid = short(port.id)
    hybrid = ovs_port.startswith("qvo") if ovs_port else bool(port.vif_details.get("ovs_hybrid_plug"))
    hops: list[HopPlan] = []
    if linux_bridge:
        hops.append(HopPlan(compute, "vm-tap", f"tap{pid}", discover=False))
        inject = DhcpInjectSpec(mac=port.mac_address, interface=linux_bridge)
    elif hybrid:
        hops += [
            HopPlan(compute, "vm-tap", f"tap{pid}", discover=False),
            HopPlan(compute, "qvb", f"qvb{pid}"),
            HopPlan(compute, "qvo", f"qvo{pid}"),
        ]
        inject = DhcpInjectSpec(mac=port.mac_address, interface=f"qvb{pid}")
    else:
        tap = ovs_port or f"tap{pid}"
        hops.append(HopPlan(compute, "vm-tap", tap, discover=False))
        inject = DhcpInjectSpec(mac=port.mac_address, bridge="br-int", ovs_port=tap)
    remote = [h for h in dhcp_hosts if h != compute]
    if remote:
        hops.append(HopPlan(compute, "compute-uplink", uplink))
    servers: set[str] = set()
    for dp in dhcp_ports:
        servers.update(dp.ips)
        host = dp.binding_host or ""
        if host != compute:
            hops.append(HopPlan(host, "network-uplink", uplink))
        if linux_bridge:  # the linuxbridge interface driver: tap<id> in brq on the node, ns-<id> in qdhcp-
            hops.append(HopPlan(host, "dhcp-tap", f"tap{short(dp.id)}"))
        inside = f"ns-{short(dp.id)}" if linux_bridge else f"tap{short(dp.id)}"
        hops.append(HopPlan(host, "qdhcp", inside, netns=f"qdhcp-{network.id}"))
    notes = []
    if not dhcp_ports:
        notes.append(f"network {network.id} has no DHCP port: no DHCP server is scheduled for it")
    return Plan(
        port=port, network=network, hops=hops, inject_node=compute, inject=inject, neutron_servers=servers, notes=notes
    )


@dataclass
class HopResult:
    node: str
    hop: str
    interface: str
    discover: bool
    offer: bool
    others: list[str]
    error: str | None


@dataclass
class Analysis:
    verdict: Verdict
    reason: str
    hops: list[HopResult]
    rogue: list[str]


def analyse(p: Plan, results: dict[str, DhcpTraceResponse | Exception], xid: int) -> Analysis:
    found: dict[tuple[str, str, str | None], DhcpHop] = {}
    errors: dict[str, str] = {}
    for node, res in results.items():
        if isinstance(res, Exception):
            errors[node] = str(res)
            continue
        for hop in res.hops:
            found[(node, hop.interface, hop.netns)] = hop
        if res.inject_detail and not res.injected:
            errors[node] = f"could not inject: {res.inject_detail}"
    rows: list[HopResult] = []
    rogue: list[str] = []
    for h in p.hops:
        got = found.get((h.node, h.interface, h.netns))
        msgs = [m for m in (got.messages if got else []) if m.xid == xid]
        disc = any(m.message == "DISCOVER" for m in msgs)
        offers = [m for m in msgs if m.message == "OFFER"]
        neutron_offer = any(m.server_id in p.neutron_servers for m in offers)
        for m in offers:
            if m.server_id not in p.neutron_servers:
                text = f"rogue DHCP server {m.server_id or m.src_ip} ({m.src_mac}) offered {m.your_ip} (seen on {h.node}/{h.name})"  # noqa: E501
                if text.split(" (seen")[0] not in [r.split(" (seen")[0] for r in rogue]:
                    rogue.append(text)
        others = sorted({m.message for m in msgs} - {"DISCOVER", "OFFER"})
        err = errors.get(h.node) or (got.error if got else f"no capture from {h.node}")
        rows.append(HopResult(h.node, h.name, h.interface, disc, neutron_offer, others, err))
    if errors:
        node, err = next(iter(errors.items()))
        return Analysis(Verdict.ERROR, f"{node}: {err}", rows, rogue)
    hop_errors = [r for r in rows if r.error]
    if hop_errors:
        r = hop_errors[0]
        return Analysis(Verdict.ERROR, f"capture on {r.node}/{r.interface} failed: {r.error}", rows, rogue)
    if p.notes:
        return Analysis(Verdict.FAIL, p.notes[0], rows, rogue)
    path = [(h, r) for h, r in zip(p.hops, rows) if h.discover]
    prev = "the injection point"
    for h, r in path:
        if not r.discover:
            return Analysis(
                Verdict.FAIL,
                f"DHCPDISCOVER stops after {prev}: not seen on {h.node}/{h.name} ({h.interface})",
                rows,
                rogue,
            )
        prev = f"{h.node}/{h.name}"
    back = [(h, r) for h, r in zip(p.hops, rows) if h.offer][::-1]
    if back and not back[0][1].offer:
        h = back[0][0]
        reason = f"DHCPDISCOVER reached {h.node}/{h.name} but dnsmasq sent no OFFER"
        if rogue:
            reason += "; " + rogue[0]
        return Analysis(Verdict.FAIL, reason, rows, rogue)
    prev = back[0][0].node + "/" + back[0][0].name if back else ""
    for h, r in back[1:]:
        if not r.offer:
            return Analysis(
                Verdict.FAIL,
                f"DHCPOFFER stops after {prev}: not seen on {h.node}/{h.name} ({h.interface})",
                rows,
                rogue,
            )
        prev = f"{h.node}/{h.name}"
    if rogue:
        return Analysis(Verdict.FAIL, rogue[0], rows, rogue)
    return Analysis(Verdict.OK, "DHCPDISCOVER reached dnsmasq and its OFFER reached the VM's tap", rows, rogue)


async def trace(
    client: AgentClient, nodes: dict[str, NodeConfig], p: Plan, duration: float, settle: float | None = None
) -> Analysis:
    """Run the plan's captures (and the injection) on every node at once, then analyse; ``settle``: each
    node ends that long after all its hops saw the OFFER (else at ``duration``)."""
    import asyncio
    import random

    from .. import api

    xid = random.randint(1, 0xFFFFFFFF)
    requests = p.requests(duration, xid, settle)

    async def one(name: str) -> tuple[str, DhcpTraceResponse | Exception]:
        try:
            return name, await api.dhcp_trace(client, nodes[name], requests[name])
        except (StethError, OSError) as exc:  # an unreachable agent is a result of the check; a bug is not
            return name, exc

    return analyse(p, dict(await asyncio.gather(*(one(n) for n in requests))), xid)


def explain_tag(analysis: Analysis, port: OvsPortInfo) -> None:
    """Add what the br-int port's tag says to a failed trace (dead VLAN 4095, or not the agent's tag)."""
    if analysis.verdict == Verdict.OK:
        return
    intended = port.other_config.get("tag")  # the local VLAN the Neutron agent assigned
    if port.tag == 4095:
        analysis.reason += f"; {port.name} has the dead VLAN tag 4095 (the agent could not bind it)"
    elif intended and str(port.tag) != intended:
        analysis.reason += (
            f"; {port.name} on br-int has tag {port.tag} but the Neutron agent assigned local VLAN {intended}"
        )
