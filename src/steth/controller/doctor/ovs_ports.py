"""Both ends of every link: what doctor checks of the VM's port on the compute node, checked on the network
nodes too — the DHCP port and the router's qr-/qg- ports on br-int with their iface-ids and local VLAN tags —
and the underlay ports of every node on the path: the physnet bridge holding its NIC, the tunnel port toward
each other end. A port or NIC that is missing is a ``fail`` with its cause; ``error`` only when the node's
Open vSwitch could not be read."""

from __future__ import annotations

from dataclasses import dataclass

from ...wire.models import OvsShowResponse
from .evidence import Evidence, Unprobed
from .facts import Facts
from .model import CheckResult
from .ovs_evidence import ENCAP_OVERHEAD, OVS, tunnel_ip
from .registry import Check, check


@dataclass
class Wiring:
    """One Neutron port on a node's integration bridge, as found (``problem`` empty when well wired)."""

    text: str
    tag: int | None = None
    problem: str = ""
    cause: str = ""
    next_step: str = ""


def wiring(f: Facts, shown: OvsShowResponse, host: str, port_id: str, kind: str, name: str) -> Wiring:
    """The ``kind`` port (e.g. "router port") named ``name`` on ``host``'s br-int: iface-id, bridge, tag, ofport."""
    agent = f.l2_agent(host)
    want = (agent.integration_bridge if agent else None) or "br-int"
    what = f"{kind} {name}"
    found = shown.with_iface_id(port_id)
    if found is None:
        return Wiring(
            f"{what}: no interface on {host}'s Open vSwitch has external_ids:iface-id={port_id}",
            problem="missing",
            cause=f"{kind} not plugged into br-int on {host}",
            next_step=f"on {host}: the agent that owns the {kind} plugs it; its interface must be on {want} with "
            f"external_ids:iface-id={port_id} (restart that agent to replug)",
        )
    bridge, pt, iface = found
    intended = pt.other_config.get("tag")
    text = f"{what} on {host}: {bridge.name} port {pt.name} tag {pt.tag} (agent's local VLAN {intended or 'unset'})"
    w = Wiring(text, pt.tag)
    if bridge.name != want:
        w.problem, w.cause = f"on {bridge.name}, not {want}", f"{kind} on the wrong bridge on {host}"
        w.next_step = f"move {pt.name} to {want} on {host}"
    elif pt.tag == 4095:
        w.problem, w.cause = "dead VLAN 4095", f"L2 agent on {host} could not wire the {kind}"
        w.next_step = f"read the OVS agent's log on {host} for port {port_id}"
    elif intended and str(pt.tag) != intended:
        w.problem = "its tag is not the local VLAN the agent assigned"
        w.cause = f"wrong local VLAN tag on br-int on {host}"
        w.next_step = f"ovs-vsctl set Port {pt.name} tag={intended} on {host} (or restart its OVS agent to resync)"
    elif pt.tag is None:
        w.problem, w.cause = "no local VLAN tag", f"{kind} not wired by the L2 agent on {host}"
        w.next_step = f"read the OVS agent's log on {host}"
    elif iface.ofport is not None and iface.ofport < 0:
        w.problem, w.cause = f"OVS could not add it: {iface.error}", f"{kind} broken in OVS on {host}"
        w.next_step = f"ovs-vsctl list Interface {iface.name} on {host}"
    return w


@check
class NetworkPortsOnBrInt(Check):
    """The network's other end: the DHCP ports and the router's qr- (and qg-) ports on their hosts' br-int,
    each with its iface-id and a live local VLAN; on one host, the network's ports share one local VLAN."""

    key = "network-ports-on-br-int"
    name = "network node ports on br-int"
    plane = "data"
    needs = (OVS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        ports: list[tuple[str, str, str, str, bool]] = []  # host, port id, kind, name, on the VM's network
        for dp in f.dhcp_ports:
            if dp.binding_host:
                ports.append((dp.binding_host, dp.id, "DHCP port", f"tap{dp.id[:11]}", True))
        if f.router_port is not None and f.l3_host:
            ports.append((f.l3_host, f.router_port.id, "router port", f"qr-{f.router_port.id[:11]}", True))
        if f.gateway_port is not None and f.l3_host:
            ports.append((f.l3_host, f.gateway_port.id, "router gateway port", f"qg-{f.gateway_port.id[:11]}", False))
        if not ports:
            return self.skipped("no DHCP port and no router on the network")
        texts: list[str] = []
        tags: dict[str, dict[str, int | None]] = {}
        for host, pid, kind, name, same_net in ports:
            shown = ev[OVS].get(host)
            if isinstance(shown, Unprobed):
                return self.unprobed(shown)
            if not isinstance(shown, OvsShowResponse):
                return self.skipped(f"{host}'s Open vSwitch was not read", unproven=True)
            w = wiring(f, shown, host, pid, kind, name)
            if w.problem:
                return self.fail(
                    w.text + (f": {w.problem}" if w.problem != "missing" else ""),
                    cause=w.cause,
                    catalogue=3 if "4095" in w.problem else None,
                    next_step=w.next_step,
                )
            texts.append(w.text)
            if same_net:
                tags.setdefault(host, {})[f"{kind} {name}"] = w.tag
        vm_tag = self._vm_tag(f, ev)
        for host, by in tags.items():
            if host == f.compute and vm_tag is not None:
                by = {**by, "the VM's port": vm_tag}
            if len(set(by.values())) > 1:
                return self.fail(
                    "; ".join(texts)
                    + f"; on {host} the network's ports carry different local VLANs: "
                    + ", ".join(f"{w} {t}" for w, t in by.items()),
                    cause=f"wrong local VLAN tag on br-int on {host}",
                    catalogue=None,
                    next_step=f"restart the OVS agent on {host}: one network has one local VLAN per node",
                )
        return self.ok("; ".join(texts))

    @staticmethod
    def _vm_tag(f: Facts, ev: Evidence) -> int | None:
        shown = ev[OVS].get(f.compute or "")
        found = shown.with_iface_id(f.vm_port.id) if isinstance(shown, OvsShowResponse) else None
        return found[1].tag if found else None


@check
class UnderlayPorts(Check):
    """Every node on the path holds its underlay end: the physnet's bridge with a NIC (VLAN, flat), or a
    tunnel port toward each other end of the path (VXLAN, GRE)."""

    key = "underlay-ports"
    name = "underlay ports"
    plane = "data"
    needs = (OVS,)

    def applies(self, f: Facts) -> bool:
        seg = f.segment
        return f.port is not None and seg is not None and bool(f.compute) and bool(f.peers)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg = f.segment
        assert seg is not None and f.compute
        hosts = [f.compute, *f.peers]
        texts = []
        for host in hosts:
            shown = ev[OVS].get(host)
            if isinstance(shown, Unprobed):
                return self.unprobed(shown)
            if not isinstance(shown, OvsShowResponse):
                return self.skipped(f"{host}'s Open vSwitch was not read", unproven=True)
            agent = f.l2_agent(host)
            if agent is None:
                return self.skipped(f"no L2 agent on {host} (its own check says why)")
            if seg.network_type in ("vlan", "flat"):
                bridge = agent.bridge_mappings.get(seg.physical_network or "")
                br = shown.bridge(bridge) if bridge else None
                nics, broken = br.nics() if br else ([], [])
                if not nics:
                    why = (
                        f"no bridge mapped to physnet {seg.physical_network}"
                        if not bridge
                        else f"{bridge} is missing"
                        if br is None
                        else f"{bridge} holds no NIC" + (f" ({', '.join(broken)})" if broken else "")
                    )
                    return self.fail(
                        f"{host}: {why}",
                        cause="physical network / bridge mapping mismatch",
                        catalogue=4,
                        next_step=f"on {host}: add the physnet's NIC to {bridge or 'its bridge'} "
                        f"(ovs-vsctl add-port {bridge or 'BRIDGE'} NIC) and check bridge_mappings",
                    )
                texts.append(f"{host} {bridge}: {', '.join(nics)}")
            elif seg.network_type in ENCAP_OVERHEAD:
                ofports = shown.tunnel_ofports()
                others = [h for h in hosts if h != host and (host == f.compute or h == f.compute)]
                for other in others:
                    ip = tunnel_ip(f, other)
                    if ip and ip not in ofports:
                        return self.fail(
                            f"{host}: no {seg.network_type} tunnel port toward {other} ({ip}) on its br-tun "
                            f"(tunnels to: {', '.join(sorted(ofports)) or 'none'})",
                            cause="tunnel port missing",
                            catalogue=16,
                            next_step=f"restart the OVS agent on {host} (it rebuilds br-tun) and check both "
                            "agents' local_ip and l2population",
                        )
                texts.append(f"{host}: tunnel ports to {', '.join(sorted(ofports)) or 'none'}")
        return self.ok("; ".join(texts) or "nothing to hold")
