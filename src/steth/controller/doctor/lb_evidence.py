"""Evidence of a Linux bridge (ML2/linuxbridge) port's path from the steth agents: each node's bridges,
VXLAN devices, FDB, ARP responder entries and filter rules (GET /v1/linuxbridge/show), and the names the
linuxbridge agent and os-vif give to what they make. Nothing here judges."""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.linuxbridge import LinuxBridgeShow
from .. import api
from ..checks import dhcp as dhcp_check
from ..checks import lb_nodes
from ..decode import Summary
from .evidence import KINDS, Collector, Gatherer, Kind, PerHost, Unprobed, guarded
from .facts import Facts
from .ovs_evidence import DHCP, DHCP_SETTLE, DHCP_WINDOW, VM_FRAMES, capture_tap

FLOOD_MAC = "00:00:00:00:00:00"


def bridge_name(network_id: str) -> str:
    """``brq<network-id[:11]>``: the bridge the agent (and os-vif) make per network."""
    return f"brq{network_id[:11]}"


def tap_name(port_id: str) -> str:
    return f"tap{port_id[:11]}"


def interface_mappings(agent: NeutronAgent | None) -> dict[str, str]:
    """physnet -> interface, as the agent reports it in its ``configurations``."""
    return lb_nodes.interface_mappings(agent) if agent is not None else {}


def segment_device(f: Facts, host: str | None) -> tuple[str | None, str]:
    """(the network's device in brq on ``host``, why there is none): vxlan-<vni>, the physnet interface
    (flat) or its VLAN sub-interface <iface>.<vid>, as the linuxbridge agent names them."""
    seg = f.segment
    if seg is None:
        return None, "the network has no segment"
    if seg.network_type == "vxlan":
        return f"vxlan-{seg.segmentation_id}", ""
    if seg.network_type in ("flat", "vlan"):
        iface = interface_mappings(f.l2_agent(host)).get(seg.physical_network or "")
        if not iface:
            return None, f"physnet {seg.physical_network} is not in the agent's interface_mappings on {host}"
        return (iface if seg.network_type == "flat" else f"{iface}.{seg.segmentation_id}"), ""
    return None, f"network type {seg.network_type} is not one the linuxbridge agent wires"


def port_chains(rules: list[str], port_id: str) -> dict[str, list[str]]:
    """The iptables firewall's chains of a port (``<binary>-i<id[:10]>``, ``-o``, ``-s``) -> their rules."""
    pid = port_id[:10]
    chains: dict[str, list[str]] = {}
    for line in rules:
        if line.startswith(":"):
            name = line[1:].split()[0]
            if name.endswith((f"-i{pid}", f"-o{pid}", f"-s{pid}")):
                chains.setdefault(name, [])
        elif line.startswith("-A "):
            name = line.split()[1]
            if name in chains:
                chains[name].append(line)
    return chains


def sg_jumps(rules: list[str], tap: str) -> list[str]:
    """Rules that send the tap's bridged traffic to its chains (``--physdev-out/--physdev-in <tap>``)."""
    marks = (f"--physdev-in {tap} ", f"--physdev-out {tap} ")
    return [r for r in rules if r.startswith("-A ") and any(m in r + " " for m in marks)]


async def _lb(g: Gatherer) -> PerHost[LinuxBridgeShow]:
    hosts = [h for h in [g.f.compute, *g.f.peers] if h]
    return await g.each(hosts, lambda n: api.linuxbridge_show(g.client, n))


LB: Kind[PerHost[LinuxBridgeShow]] = KINDS.add(Kind("linuxbridge", _lb, dict))


def uplink(f: Facts, shown: PerHost[LinuxBridgeShow], host: str | None = None) -> str:
    """A node's NIC under the network (the compute node's by default): the VXLAN device's underlay link, or
    the physnet's interface."""
    host = host or f.compute
    dev, _ = segment_device(f, host)
    node = shown.get(host or "")
    if isinstance(node, LinuxBridgeShow) and dev:
        vx = next((v for v in node.vxlans if v.name == dev), None)
        if vx is not None and vx.dev:
            return vx.dev
        link = node.link(dev)
        if link is not None and link.kind != "vxlan":
            return dev.split(".")[0]
    return "eth1"


async def _dhcp(g: Gatherer) -> dhcp_check.Analysis | Unprobed | None:
    """A DHCPDISCOVER sent on the VM's brq bridge, traced to dnsmasq (tap, ns- in qdhcp-) and back."""
    f = g.f
    if not f.subnet or not f.subnet.enable_dhcp or not f.compute:
        return None
    nic = uplink(f, await g.get(LB))
    p = dhcp_check.plan(
        f.vm_port, f.vm_network, f.dhcp_ports, f.dhcp_hosts, nic, linux_bridge=bridge_name(f.vm_network.id)
    )
    nodes = {h.node: g.node(h.node) for h in p.hops}
    return await guarded(dhcp_check.trace(g.client, nodes, p, DHCP_WINDOW, DHCP_SETTLE))


async def _vm_frames(g: Gatherer) -> list[Summary] | Unprobed | None:
    """What the VM itself sends, on its tap (there is no br-int port to find first)."""
    if not g.f.compute:
        return None
    return await guarded(capture_tap(g, tap_name(g.f.vm_port.id)))


COLLECTORS = (Collector(DHCP, _dhcp), Collector(VM_FRAMES, _vm_frames))
