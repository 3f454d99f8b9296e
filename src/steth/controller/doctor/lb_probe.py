"""The VM's own packet on ML2/Linux bridge: where it enters and the hops it crosses (the probe, its
captures and its verdict are vm_probe.py's and vm_path.py's, as on ML2/OVS).

Injection: the compute node's agent sends the VM's frame (the VM's MAC and fixed IP, to the router's qr-
MAC) raw on the VM's bridge ``brq<net>``, as the DHCP trace on Linux bridge does. The bridge forwards it by
its FDB, as it forwards what the VM sends into its tap: out of ``vxlan-<vni>`` (or the physnet interface,
or its VLAN sub-interface) toward the router. Nothing changes on the VM, its tap or the bridge (a frame the
bridge device sends teaches its FDB nothing).

What it passes and what it bypasses: the frame is the bridge's own, so it crosses none of the port's
``neutron-linuxbri-o<port>``/``-s<port>`` chains (egress rules and anti-spoofing, matched
``--physdev-in tap<port>``: the "lb-iptables-chains" and "security-groups" checks read those) and conntrack
never sees it. Everything after the bridge is the VM's path: the VXLAN device and its FDB, the underlay,
the network node's bridge, the router. The reply comes back through ``vxlan-<vni>`` and the bridge to the
tap, crossing the port's ingress chain (``--physdev-out tap<port>``): an ICMP echo reply passes where the
security group lets ICMP in, so the reply seen on the tap proves the way back to the VM. A TCP probe's
SYN-ACK reaches that chain without the connection the VM's SYN would have opened (conntrack never saw
the SYN), so the tap is not expected to see it: the reply's last hop is then the network's device
(``vxlan-<vni>``), where the bridge's filters have not run yet.
"""

from __future__ import annotations

from ...wire import frames
from ...wire.linuxbridge import LinuxBridgeShow
from .evidence import Collector, Gatherer, PerHost, Unprobed
from .facts import Facts
from .lb_evidence import LB, bridge_name, interface_mappings, segment_device, tap_name, uplink
from .ns_evidence import qdhcp, qrouter
from .vm_path import PathHop
from .vm_probe import VM_PROBE, Target, VmProbe, probe_path, target_of

VXLAN_PORTS = tuple(sorted(frames.VXLAN_PORTS))  # the kernel's 8472 (the agent's default) or IANA's 4789


def plan(f: Facts, shown: PerHost[LinuxBridgeShow], t: Target) -> tuple[list[PathHop], dict[str, str | None]]:
    """The hops in the request's order, and where the probe enters (the VM's bridge)."""
    compute = f.compute or ""
    hops = [PathHop(compute, "vm-tap", tap_name(f.vm_port.id), request=False, reply=t.port is None)]
    dev, _ = segment_device(f, compute)
    far = f.l3_host if t.via_router else next((p.binding_host for p in f.dhcp_ports if t.address in p.ips), None)
    nic = uplink(f, shown, compute)
    if dev and dev != nic:  # vxlan-<vni>, or <iface>.<vid>: the frame as the bridge hands it on
        hops.append(PathHop(compute, "segment-device", dev))
    if far and far != compute:
        hops.append(PathHop(compute, "compute-uplink", nic))
        # (not the network node's vxlan-<vni> too: an agent holds 4 captures by default, --capture-max-concurrent,
        # and uplink, qr-, qg- and the external interface are four)
        hops.append(PathHop(far, "network-uplink", uplink(f, shown, far)))
    if t.via_router and f.router is not None and f.router_port is not None and far:
        ns = qrouter(f.router.id)
        hops.append(PathHop(far, "qr", f"qr-{f.router_port.id[:11]}", ns))
        if t.beyond_router and f.gateway_port is not None:
            hops.append(PathHop(far, "qg", f"qg-{f.gateway_port.id[:11]}", ns))
            ext = external_nic(f, far)
            if ext:
                hops.append(PathHop(far, "external", ext))
    elif not t.via_router and far:
        dp = next((p for p in f.dhcp_ports if t.address in p.ips), None)
        if dp is not None:  # the linuxbridge interface driver: ns-<id> in qdhcp-, its tap<id> peer in brq
            hops.append(PathHop(far, "qdhcp", f"ns-{dp.id[:11]}", qdhcp(f.vm_network.id)))
    return hops, {"interface": bridge_name(f.vm_network.id), "bridge": None, "ovs_port": None}


def external_nic(f: Facts, host: str) -> str | None:
    """The external network's interface on the router's host (flat: the physnet's; VLAN: its sub-interface)."""
    seg = f.external_network.segment if f.external_network else None
    if seg is None or not seg.physical_network:
        return None
    iface = interface_mappings(f.l2_agent(host)).get(seg.physical_network)
    if not iface:
        return None
    return f"{iface}.{seg.segmentation_id}" if seg.network_type == "vlan" else iface


def carriers(f: Facts, t: Target) -> dict[str, str]:
    """What carries the packet to each hop, for the next step when it does not get there."""
    brq, tap = bridge_name(f.vm_network.id), tap_name(f.vm_port.id)
    dev = segment_device(f, f.compute)[0] or "the network's device"
    back = "its ingress chain neutron-linuxbri-i<port> (the security group must let the reply in)"
    return {
        "vm-tap": f"{tap} in {brq} (bridge fdb, the tap up) and {back}",
        "segment-device": f"{brq}'s FDB entry for the next hop's MAC, {dev} in {brq} and up",
        "compute-uplink": f"{dev}'s FDB (l2population's entry for the router's MAC and the flood entry of the "
        "network node's VTEP), its local address and underlay device",
        "network-uplink": f"the underlay from {f.compute} to this node: VXLAN (UDP {'/'.join(map(str, VXLAN_PORTS))}) "
        "or the VLAN trunk, and any filter on the way",
        "qr": f"the network's bridge {brq} on this node (its VXLAN device and FDB), the router port's tap in it, "
        "and qr- up in the router's namespace",
        "qg": "the router's namespace: its routes, ip_forward and FORWARD chain",
        "external": "the external network's bridge: the router gateway port's tap and the external interface in it",
        "qdhcp": f"the network's bridge {brq} on this node and the DHCP port's tap in it",
    }


async def _vm_probe(g: Gatherer) -> VmProbe | Unprobed | None:
    f = g.f
    t = target_of(f)
    fixed = f.fixed_ip
    if t is None or not fixed or ":" in fixed:
        return None
    shown = await g.get(LB)
    node = shown.get(f.compute or "")
    if isinstance(node, Unprobed):
        return node
    tap = node.link(tap_name(f.vm_port.id)) if node is not None else None
    if tap is None or tap.master != bridge_name(f.vm_network.id):
        return None  # the tap is not in its bridge: nothing the VM sends gets anywhere (its check says so)
    hops, entry = plan(f, shown, t)
    probe = await probe_path(g, t, fixed, hops, entry, VXLAN_PORTS)
    if isinstance(probe, VmProbe):
        probe.carriers = carriers(f, t)
        last = next((h for h in hops if h.reply and not h.error), None)
        if t.port and probe.verdict.ok and probe.verdict.proven and last is not None:
            probe.verdict.reason = (
                f"the VM's own packet to {t.address}:{t.port} crossed every hop and its reply came back to "
                f"{last.label} (not watched on the tap: the port's stateful ingress chain never saw the injected "
                "SYN, so it drops the answer)"
            )
    return probe


COLLECTORS = (Collector(VM_PROBE, _vm_probe),)
