"""Doctor checks of an ML2/Linux bridge port's path: the agent's interface mappings, the VM's tap in
``brq<net>``, the network's device (``vxlan-<vni>``, the physnet interface or its VLAN sub-interface) in the
same bridge on every node of the path, the VXLAN forwarding entries l2population writes (one flood entry
per remote VTEP, the remote ports' MACs and ARP responder entries) and the port's iptables chains."""

from __future__ import annotations

from ...wire.linuxbridge import LinuxBridgeShow
from .evidence import Evidence, Unprobed
from .facts import Facts
from .lb_evidence import FLOOD_MAC, LB, bridge_name, interface_mappings, port_chains, segment_device, sg_jumps, tap_name
from .model import CheckResult
from .registry import Check, check


def _shown(ev: Evidence, host: str | None) -> LinuxBridgeShow | Unprobed | None:
    return ev[LB].get(host or "")


@check
class InterfaceMappings(Check):
    """The agent of every node on the path knows the network: its physnet in ``interface_mappings`` (and
    that interface on the node), or VXLAN among its tunnel types with a tunneling_ip."""

    key = "lb-interface-mappings"
    name = "Linux bridge interface mappings"
    plane = "control"
    needs = (LB,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        seg = f.segment
        if seg is None:
            return self.skipped("the network has no segment")
        seen, bad = [], []
        for host in [f.compute, *f.peers]:
            agent = f.l2_agent(host)
            if agent is None:
                continue
            if seg.network_type == "vxlan":
                if "vxlan" not in agent.tunnel_types or not agent.tunnel_ip:
                    bad.append(f"{host}: tunnel_types {agent.tunnel_types or 'none'}, tunneling_ip {agent.tunnel_ip}")
                else:
                    seen.append(f"{host} VTEP {agent.tunnel_ip}")
                continue
            iface = interface_mappings(agent).get(seg.physical_network or "")
            shown = _shown(ev, host)
            if not iface:
                bad.append(f"{host}: {seg.physical_network} not in interface_mappings {interface_mappings(agent)}")
            elif isinstance(shown, LinuxBridgeShow) and shown.link(iface) is None:
                bad.append(f"{host}: {seg.physical_network} -> {iface}, which does not exist on the node")
            else:
                seen.append(f"{host} {seg.physical_network}:{iface}")
        if bad:
            return self.fail(
                "; ".join(bad),
                cause="physical network / interface mapping mismatch",
                catalogue=4,
                next_step="fix [linux_bridge] physical_interface_mappings (or [vxlan] local_ip) in the agent's "
                "config on the host named and restart the agent",
            )
        return self.ok(f"{seg.network_type} network; " + (", ".join(seen) or "no agent on the path"))


@check
class TapInBridge(Check):
    """The VM's tap is in its network's bridge (os-vif's job: the agent never enslaves compute ports)."""

    key = "lb-tap-in-bridge"
    name = "VM tap in its bridge"
    plane = "data"
    needs = (LB,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        shown = _shown(ev, f.compute)
        bad = self.unusable(shown, f"no Linux bridge evidence from {f.compute}")
        if bad or not isinstance(shown, LinuxBridgeShow):
            return bad or self.skipped("no evidence")
        tap, brq = tap_name(f.vm_port.id), bridge_name(f.vm_network.id)
        link, bridge = shown.link(tap), shown.link(brq)
        fix = f"ip link set {tap} master {brq} up (what os-vif does), or hard-reboot the VM"
        if link is None:
            return self.fail(
                f"no {tap} on {f.compute}",
                cause="VM interface not plugged",
                catalogue=3,
                next_step=f"is the VM running on {f.compute}? nova/libvirt create {tap}",
            )
        if bridge is None or link.master != brq:
            where = f"in {link.master}" if link.master else "in no bridge"
            return self.fail(
                f"{tap} on {f.compute} is {where}, not in {brq}" + ("" if bridge else f" ({brq} does not exist)"),
                cause="VM tap not in its bridge",
                catalogue=3,
                next_step=fix,
            )
        if not link.up or not bridge.up:
            down = ", ".join(x.name for x in (link, bridge) if not x.up)
            return self.fail(
                f"{down} down on {f.compute}", cause="VM tap not in its bridge", catalogue=3, next_step=fix
            )
        return self.ok(f"{tap} in {brq} on {f.compute}, both up")


@check
class SegmentDevice(Check):
    """On every node of the path the network's bridge holds its segment device, up; a VXLAN device has the
    network's VNI and the agent's tunneling_ip as local address."""

    key = "lb-segment-device"
    name = "network device in the bridge"
    plane = "data"
    needs = (LB,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        brq = bridge_name(f.vm_network.id)
        seen: list[str] = []
        bad: list[str] = []
        for host in [f.compute, *f.peers]:
            shown = _shown(ev, host)
            if isinstance(shown, Unprobed):
                return self.unprobed(shown)
            if shown is None:
                continue
            dev, why = segment_device(f, host)
            if dev is None:
                bad.append(f"{host}: {why}")
                continue
            link = shown.link(dev)
            if link is None:
                bad.append(f"{host}: no {dev}")
            elif link.master != brq:
                bad.append(f"{host}: {dev} is in {link.master or 'no bridge'}, not {brq}")
            elif not link.up:
                bad.append(f"{host}: {dev} is down")
            else:
                problem = self._vxlan(f, shown, host, dev)
                (bad if problem else seen).append(f"{host}: {problem or dev + ' in ' + brq}")
        if bad:
            return self.fail(
                "; ".join(bad) + (f" (ok: {', '.join(seen)})" if seen else ""),
                cause="network device missing or down in the Linux bridge",
                catalogue=5,
                next_step="the linuxbridge agent rebuilds it: restart it on the host named and read its log "
                "(ip link set <dev> up brings a downed device back)",
            )
        return self.ok("; ".join(seen) or "no node evidence")

    @staticmethod
    def _vxlan(f: Facts, shown: LinuxBridgeShow, host: str | None, dev: str) -> str:
        seg = f.segment
        if seg is None or seg.network_type != "vxlan":
            return ""
        vx = next((v for v in shown.vxlans if v.name == dev), None)
        agent = f.l2_agent(host)
        if vx is None:
            return f"{dev} is not a VXLAN device"
        if vx.vni != seg.segmentation_id:
            return f"{dev} has VNI {vx.vni}, the network {seg.segmentation_id}"
        if agent and agent.tunnel_ip and vx.local and vx.local != agent.tunnel_ip:
            return f"{dev} local {vx.local}, the agent's tunneling_ip {agent.tunnel_ip}"
        return ""


@check
class VxlanForwarding(Check):
    """Where the compute node's VXLAN device sends frames: a multicast group, or (l2population) one flood
    entry per remote VTEP of the path, the remote DHCP/router ports' MACs and their ARP responder entries."""

    key = "lb-vxlan-fdb"
    name = "VXLAN forwarding entries"
    plane = "data"
    needs = (LB,)

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.segment is not None and f.segment.network_type == "vxlan"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        shown = _shown(ev, f.compute)
        bad = self.unusable(shown, f"no Linux bridge evidence from {f.compute}")
        if bad or not isinstance(shown, LinuxBridgeShow):
            return bad or self.skipped("no evidence")
        dev, _ = segment_device(f, f.compute)
        vx = next((v for v in shown.vxlans if v.name == dev), None)
        if vx is None:
            return self.skipped(f"no {dev} on {f.compute} (see the network device row)")
        if vx.group:
            return self.ok(f"{dev} floods to multicast group {vx.group} (no l2population)")
        vteps = {h: a.tunnel_ip for h in f.peers if (a := f.l2_agent(h)) and a.tunnel_ip}
        flood = shown.flood_vteps(dev or "")
        missing = [f"{h} ({ip})" for h, ip in vteps.items() if ip not in flood]
        remote = [p for p in [*f.dhcp_ports, *([f.router_port] if f.router_port else [])] if p.binding_host in vteps]
        wrong_mac = []
        for p in remote:
            want = vteps[p.binding_host or ""]
            got = shown.fdb_dst(dev or "", p.mac_address)
            if got is not None and got != want:
                wrong_mac.append(f"{p.mac_address} -> {got}, its port is on {p.binding_host} ({want})")
        arp = shown.arp_entries(dev or "")
        no_arp = [ip for p in remote for ip in p.ips if ":" not in ip and vx.proxy and arp.get(ip) != p.mac_address]
        where = f"bridge fdb of {dev} on {f.compute}"
        if missing or wrong_mac:
            text = f"{where}: floods to {', '.join(flood) or 'nobody'}"
            text += f"; no flood entry for {', '.join(missing)}" if missing else ""
            text += f"; {', '.join(wrong_mac)}" if wrong_mac else ""
            return self.fail(
                text,
                cause="l2population FDB entry of a remote VTEP missing",
                catalogue=16,
                next_step=f"restart the linuxbridge agent on {f.compute} (l2population rewrites its FDB), "
                f"or: bridge fdb append {FLOOD_MAC} dev {dev} dst <VTEP>",
            )
        if no_arp:
            return self.fail(
                f"{dev} on {f.compute} answers ARP locally (proxy) but has no entry for {', '.join(no_arp)}",
                cause="l2population ARP responder entry missing",
                catalogue=16,
                next_step=f"restart the linuxbridge agent on {f.compute}",
            )
        arp_text = f", {len(arp)} ARP responder entries" if vx.proxy else ""
        return self.ok(f"{where}: floods to {', '.join(flood) or 'no remote VTEP'}{arp_text}")


@check
class IptablesChains(Check):
    """The iptables firewall's chains of the port exist, hold rules, and the bridge sends the tap's traffic
    through them (a flushed chain lets everything through, a missing jump filters nothing)."""

    key = "lb-iptables-chains"
    name = "security group chains (iptables)"
    plane = "data"
    needs = (LB,)

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.port.port_security_enabled and bool(f.port.security_group_ids)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        shown = _shown(ev, f.compute)
        bad = self.unusable(shown, f"no Linux bridge evidence from {f.compute}")
        if bad or not isinstance(shown, LinuxBridgeShow):
            return bad or self.skipped("no evidence")
        tap = tap_name(f.vm_port.id)
        chains = port_chains(shown.filter_rules, f.vm_port.id)
        jumps = sg_jumps(shown.filter_rules, tap)
        fix = f"restart the linuxbridge agent on {f.compute} (it rewrites the port's chains) and read its log"
        if not chains:
            return self.fail(
                f"no iptables chain of port {f.vm_port.id[:10]} in the filter table on {f.compute}",
                cause="host firewall flushed: the port's security group chains are missing",
                catalogue=21,
                next_step=fix,
            )
        empty = sorted(n for n, rules in chains.items() if not rules and not n.split("-")[-1].startswith("s"))
        if empty or not jumps:
            what = f"empty chain(s) {', '.join(empty)}" if empty else f"no physdev rule sends {tap} to its chains"
            return self.fail(
                f"{what} on {f.compute}: the port's security groups are not enforced",
                cause="host firewall flushed: the port's security group rules are missing",
                catalogue=21,
                next_step=fix,
            )
        counts = ", ".join(f"{n} {len(r)} rules" for n, r in sorted(chains.items()))
        return self.ok(f"{counts}; {len(jumps)} physdev jumps for {tap} on {f.compute}")
