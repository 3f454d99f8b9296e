"""Data-plane checks of an ML2/Open vSwitch port's switching path: its br-int port, the underlay
(tunnel or VLAN trunk) to the network nodes, br-tun's flood flows, and the MTU end to end."""

from __future__ import annotations

from ...wire.models import OvsFlowsResponse, OvsShowResponse, PingResponse, Verdict
from ..checks import dhcp as dhcp_check
from ..checks.vlan import VlanReport
from .evidence import Evidence, Unprobed
from .facts import Facts
from .model import CheckResult
from .ovs_evidence import (
    DHCP,
    ENCAP_OVERHEAD,
    FLOOD_FLOWS,
    INTERFACES,
    MTU_PING,
    OVS,
    TUNNEL_PING,
    VLAN,
    physnet_nic,
    vif,
)
from .registry import Check, check


def ping_text(res: PingResponse) -> str:
    r = res.results[0]
    rtt = f", rtt avg {r.rtt_avg_ms} ms" if r.rtt_avg_ms is not None else ""
    err = f" ({r.error})" if r.error else ""
    return f"{r.received}/{r.sent} answered{rtt}{err}"


def answered(res: PingResponse) -> bool:
    return all(r.received > 0 for r in res.results)


@check
class VmPortOnBrInt(Check):
    """The VM's interface on the integration bridge with its iface-id, the agent's local VLAN, an ofport."""

    key = "vm-port-on-br-int"
    name = "VM port on br-int"
    plane = "data"
    needs = (OVS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        compute = f.compute
        shown = ev[OVS].get(compute or "")
        if (unusable := self.unusable(shown, "the port is not bound to a host")) is not None:
            return unusable
        assert isinstance(shown, OvsShowResponse)
        port_id = f.vm_port.id
        found = shown.with_iface_id(port_id)
        if found is None:
            return self.fail(
                f"no interface on {compute}'s Open vSwitch has external_ids:iface-id={port_id}",
                cause="VM interface not plugged into br-int",
                catalogue=None,
                next_step=f"check nova-compute/os-vif on {compute}: the VM's tap (qvo/tap{port_id[:11]}) "
                "must be on br-int with the port's iface-id",
            )
        bridge, pt, iface = found
        agent = f.l2_agent(compute)
        want_bridge = (agent.integration_bridge if agent else None) or "br-int"
        intended = pt.other_config.get("tag")
        text = (
            f"{bridge.name} port {pt.name} (iface-id {port_id[:8]}..., ofport {iface.ofport}) tag {pt.tag}, "
            f"agent's local VLAN {intended or 'unset'}"
        )
        if bridge.name != want_bridge:
            return self.fail(
                text + f"; the agent's integration bridge is {want_bridge}",
                cause="VM interface on the wrong bridge",
                catalogue=None,
                next_step=f"move {pt.name} to {want_bridge}",
            )
        if pt.tag == 4095:
            return self.fail(
                text + ": dead VLAN 4095, the L2 agent could not wire the port",
                cause="L2 agent could not wire the port (dead VLAN)",
                catalogue=3,
                next_step=f"read the OVS agent's log on {compute} for port {port_id}",
            )
        if intended and str(pt.tag) != intended:
            return self.fail(
                text + ": the port's tag is not the local VLAN the agent assigned",
                cause="wrong local VLAN tag on br-int",
                catalogue=None,
                next_step=f"ovs-vsctl set Port {pt.name} tag={intended} (or restart the OVS agent to resync)",
            )
        if pt.tag is None:
            return self.fail(
                text + ": no local VLAN tag",
                cause="port not wired by the L2 agent",
                catalogue=3,
                next_step=f"read the OVS agent's log on {compute}",
            )
        if iface.ofport is not None and iface.ofport < 0:
            return self.fail(
                text + f": OVS could not add it: {iface.error}",
                cause="VM interface broken in OVS",
                catalogue=None,
                next_step=f"ovs-vsctl list Interface {iface.name} on {compute}",
            )
        return self.ok(text)


def underlay_probed(f: Facts) -> str | None:
    """The network type when the path crosses an underlay doctor probes (a tunnel or a VLAN trunk)."""
    seg = f.segment
    if f.port is None or seg is None or not f.compute or not f.peers:
        return None
    return seg.network_type if seg.network_type in ENCAP_OVERHEAD or seg.network_type == "vlan" else None


@check
class UnderlayPath(Check):
    """The underlay when there is nothing to probe: no hop, or an untagged (flat) physnet."""

    key = "underlay-path"
    name = "underlay path"
    plane = "data"

    def applies(self, f: Facts) -> bool:
        return f.port is not None and underlay_probed(f) is None

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg = f.segment
        if seg is None or not f.compute:
            return self.skipped("no segment or no binding host")
        if not f.peers:
            return self.ok(f"the DHCP server and router are on {f.compute} itself: no underlay hop")
        return self.ok(f"{seg.network_type} network: untagged on physnet {seg.physical_network}")


@check
class TunnelPath(Check):
    """Compute node to each network node between the tunnel endpoints; and the DHCP trace's encapsulated
    broadcast, which proves the tunnel's own traffic (UDP 4789 for VXLAN) passes, not only ICMP."""

    key = "tunnel-path"
    name = "tunnel path"  # the row says which: "vxlan tunnel path"
    plane = "data"
    needs = (TUNNEL_PING, DHCP)

    def applies(self, f: Facts) -> bool:
        return underlay_probed(f) in ENCAP_OVERHEAD

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        net_type = f.segment.network_type if f.segment else "?"
        title = f"{net_type} tunnel path"
        agent = f.l2_agent(f.compute)
        src = agent.tunnel_ip if agent else None
        if not src:
            return self.fail(
                f"the agent on {f.compute} reports no tunneling_ip",
                cause="tunnel underlay broken",
                catalogue=5,
                next_step=f"set [ovs] local_ip on {f.compute}",
                title=title,
            )
        port = "4789" if agent is None or agent.is_ovs else "8472"  # Linux bridge: the kernel's VXLAN port
        encapsulation = f"UDP {port}" if net_type == "vxlan" else net_type
        parts = []
        for peer in f.peers:
            res = ev[TUNNEL_PING].get(peer)
            if res is None:
                continue
            if not isinstance(res, PingResponse):
                return self.unprobed(res, title=title)
            dst = res.results[0].target
            text = f"{f.compute} {src} -> {peer} {dst}: {ping_text(res)}"
            if not answered(res) or res.results[0].received < res.results[0].sent:
                return self.fail(
                    text + f": the tunnel endpoints do not reach each other (UDP "
                    f"{port if net_type == 'vxlan' else 'encapsulation'} rides this path)",
                    cause="tunnel underlay broken",
                    catalogue=5,
                    next_step=f"check routing/firewalls between {src} and {dst} (local_ip of both agents); "
                    f"`steth check mesh` on the tunnel network",
                    title=title,
                )
            parts.append(text)
        lost = encapsulated_loss(ev[DHCP])
        if lost:
            return self.fail(
                "; ".join(parts) + f"; but {lost}, although ICMP between the endpoints works: the "
                f"encapsulation ({encapsulation}) is dropped on the path",
                cause="tunnel underlay broken",
                catalogue=5,
                next_step=f"find the firewall/ACL between {f.compute} and {', '.join(f.peers)} that drops "
                f"{encapsulation if net_type == 'vxlan' else net_type + ' packets'} (security groups of "
                "the hosts, iptables, switch ACLs)",
                title=title,
            )
        return self.ok("; ".join(parts) or "no peers to probe", title=title)


def encapsulated_loss(a: object) -> str:
    """From the DHCP trace: a broadcast that left one node's uplink (encapsulated) and never reached the
    other's: the real tunnel traffic is lost even when pings between the endpoints pass."""
    if not isinstance(a, dhcp_check.Analysis):
        return ""
    comp = next((h for h in a.hops if h.hop == "compute-uplink"), None)
    into = [h for h in a.hops if h.hop == "network-uplink"]
    if comp is None or not into:
        return ""
    if comp.discover and not any(h.discover for h in into):
        return (
            f"the VM's DHCPDISCOVER left {comp.node} {comp.interface} encapsulated and never reached "
            f"{', '.join(f'{h.node} {h.interface}' for h in into)}"
        )
    if any(h.offer for h in into) and not comp.offer:
        src = next(h for h in into if h.offer)
        return (
            f"dnsmasq's OFFER left {src.node} {src.interface} encapsulated and never reached "
            f"{comp.node} {comp.interface}"
        )
    return ""


@check
class VlanTrunk(Check):
    """802.1Q frames of the network's VLAN between the compute node and the network nodes, every way."""

    key = "vlan-trunk"
    name = "VLAN trunk"
    plane = "data"
    needs = (VLAN,)

    def applies(self, f: Facts) -> bool:
        return underlay_probed(f) == "vlan"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg_id = f.segment.segmentation_id if f.segment else None
        rep = ev[VLAN]
        if (unusable := self.unusable(rep, "not probed")) is not None:
            return unusable
        assert isinstance(rep, VlanReport)
        if rep.errors:
            return self.error("; ".join(f"{n}: {e}" for n, e in rep.errors.items()))
        lost = [f"{s} -> {r}" for s, r in rep.pairs() if seg_id in rep.missing(s, r)]
        where = ", ".join(f"{n} {rep.interfaces.get(n, '?')}" for n in rep.nodes)
        if lost:
            toward = ", ".join(sorted({x.split(" -> ")[1] for x in lost}))
            return self.fail(
                f"802.1Q frames with VLAN {seg_id} sent between {where}: lost {', '.join(lost)}",
                cause="VLAN not trunked",
                catalogue=11,
                next_step=f"allow VLAN {seg_id} on the switch ports toward {toward}",
            )
        return self.ok(f"802.1Q frames with VLAN {seg_id} crossed every way between {where}")


@check
class TunnelFloodFlows(Check):
    """br-tun floods the port's local VLAN to the tunnel port of every network node on the path."""

    key = "tunnel-flood-flows"
    name = "tunnel flood flows"
    plane = "data"
    needs = (FLOOD_FLOWS, OVS)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg = f.segment
        if seg is None or seg.network_type not in ENCAP_OVERHEAD or not f.peers:
            return self.skipped("not a tunnelled network, or no remote peer")
        flows = ev[FLOOD_FLOWS]
        if (unusable := self.unusable(flows, "not probed")) is not None:
            return unusable
        assert isinstance(flows, OvsFlowsResponse)
        if flows.verdict != Verdict.OK:
            return self.error(flows.detail)
        ovs = ev[OVS]
        shown = ovs.get(f.compute or "")
        found = vif(f, ovs)
        if found is None or not isinstance(shown, OvsShowResponse):
            return self.skipped("the VM's port is not on br-int")
        tag = found[1].tag
        ofports = shown.tunnel_ofports()
        mine = [fl for fl in flows.flows if tag is not None and f"dl_vlan={tag}" in fl]
        missing = []
        for peer in f.peers:
            agent = f.l2_agent(peer)
            ofport = ofports.get((agent.tunnel_ip if agent else None) or "")
            if ofport is None:
                missing.append(f"{peer} (no tunnel port to {agent.tunnel_ip if agent else '?'} on br-tun)")
            elif not any(f"output:{ofport}" in fl for fl in mine):
                missing.append(f"{peer} (tunnel port ofport {ofport})")
        text = f"br-tun table 22 on {f.compute}, local VLAN {tag}: " + (" | ".join(mine) or "no flow")
        if missing:
            return self.fail(
                text + f"; no flooding to {', '.join(missing)}",
                cause="missing tunnel flood flows",
                catalogue=16,
                next_step=f"restart the OVS agent on {f.compute} (it rebuilds br-tun) and check "
                "l2population's fdb entries",
            )
        return self.ok(text)


@check
class Mtu(Check):
    """Full-size frames end to end: encapsulated with DF across the tunnel, or the physnet NICs' MTU."""

    key = "mtu"
    name = "MTU"
    plane = "data"
    needs = (MTU_PING, INTERFACES, OVS)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg = f.segment
        net_mtu = (f.network.mtu if f.network else None) or 1500
        if seg is None or not f.compute:
            return self.skipped("no segment or no binding host")
        if seg.network_type in ENCAP_OVERHEAD:
            return self._tunnel(f, ev, seg.network_type, net_mtu)
        # VLAN / flat: the physnet NIC on every node must carry the network MTU
        small = []
        seen = []
        for host in [f.compute, *f.peers]:
            ifaces = ev[INTERFACES].get(host)
            if isinstance(ifaces, Unprobed):
                return self.unprobed(ifaces)
            nic = physnet_nic(f, ev[OVS], host, seg.physical_network)
            iface = next((i for i in ifaces or [] if i.name == nic), None)
            if iface is None:
                continue
            seen.append(f"{host} {nic} MTU {iface.mtu}")
            if iface.mtu < net_mtu:
                small.append(f"{host} {nic} MTU {iface.mtu}")
        if small:
            return self.fail(
                f"network MTU {net_mtu}; {', '.join(seen)}: {', '.join(small)} cannot carry full frames",
                cause="MTU mismatch on the physical network",
                catalogue=2,
                next_step=f"raise the NIC/switch MTU to {net_mtu} or lower the network's MTU",
            )
        return self.ok(f"network MTU {net_mtu}; {', '.join(seen) or 'NICs not found'}")

    def _tunnel(self, f: Facts, ev: Evidence, net_type: str, net_mtu: int) -> CheckResult:
        overhead = ENCAP_OVERHEAD[net_type]
        parts = []
        for peer in f.peers:
            res = ev[MTU_PING].get(peer)
            if res is None:
                continue
            if isinstance(res, Unprobed):
                return self.unprobed(res)
            r = res.results[0]
            text = (
                f"network MTU {net_mtu} + {net_type} overhead {overhead} = {net_mtu + overhead} bytes "
                f"with DF, {f.compute} -> {peer} {r.target}: {ping_text(res)}"
            )
            if r.received == 0:
                return self.fail(
                    text + ": full-size encapsulated packets do not pass the underlay",
                    cause="MTU / overlay overhead mismatch",
                    catalogue=2,
                    next_step=f"raise the underlay MTU between {f.compute} and {peer} to at least "
                    f"{net_mtu + overhead}, or lower the network's MTU to the underlay's minus {overhead} "
                    f"(openstack network set --mtu N; existing ports keep the old MTU until recreated)",
                )
            parts.append(text)
        return self.ok("; ".join(parts) or f"network MTU {net_mtu}; no remote tunnel peer")
