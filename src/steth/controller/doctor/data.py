"""Data-plane checks: what the agents saw on the port's path, in chain order (pure functions)."""

from __future__ import annotations

import ipaddress

from ...errors import StethError
from ...wire.models import Interface, IptablesResponse, OvsFlowsResponse, PingResponse, TcpConnectResult, Verdict
from ..checks import dhcp as dhcp_check
from ..checks.vlan import VlanReport
from .control import ingress_icmp_allowed
from .facts import Facts
from .model import Check, error, fail, ok, skipped, warn
from .probes import ENCAP_OVERHEAD, SPOOF_WINDOW, Evidence, physnet_nic, qrouter, vif


def _d(check: str, *args, **kw) -> Check:
    return fail(check, *args, plane="data", **kw)


def _ok(check: str, evidence: str) -> Check:
    return ok(check, evidence, plane="data")


def _skip(check: str, evidence: str) -> Check:
    return skipped(check, evidence, plane="data")


def _unusable(check: str, res: object, missing: str) -> Check | None:
    """The check's outcome when its evidence is absent (skipped) or its probe failed (error), else None."""
    if res is None:
        return _skip(check, missing)
    if isinstance(res, BaseException):
        return _probe_error(check, res)
    return None


def _probe_error(check: str, exc: BaseException) -> Check:
    msg = exc.message if isinstance(exc, StethError) else f"{type(exc).__name__}: {exc}"
    return error(check, f"could not probe: {msg}")


def _ping_text(res: PingResponse) -> str:
    r = res.results[0]
    rtt = f", rtt avg {r.rtt_avg_ms} ms" if r.rtt_avg_ms is not None else ""
    err = f" ({r.error})" if r.error else ""
    return f"{r.received}/{r.sent} answered{rtt}{err}"


def _answered(res: PingResponse) -> bool:
    return all(r.received > 0 for r in res.results)


def ovs_port(f: Facts, ev: Evidence) -> Check:
    name = "VM port on br-int"
    shown = ev.ovs.get(ev.compute or "")
    if (unusable := _unusable(name, shown, "the port is not bound to a host")) is not None:
        return unusable
    found = shown.with_iface_id(f.port.id)
    if found is None:
        return _d(
            name,
            f"no interface on {ev.compute}'s Open vSwitch has external_ids:iface-id={f.port.id}",
            cause="VM interface not plugged into br-int",
            catalogue=None,
            next_step=f"check nova-compute/os-vif on {ev.compute}: the VM's tap (qvo/tap{f.port.id[:11]}) "
            "must be on br-int with the port's iface-id",
        )
    bridge, pt, iface = found
    agent = f.l2_agent(ev.compute)
    want_bridge = (agent.integration_bridge if agent else None) or "br-int"
    intended = pt.other_config.get("tag")
    text = (
        f"{bridge.name} port {pt.name} (iface-id {f.port.id[:8]}..., ofport {iface.ofport}) tag {pt.tag}, "
        f"agent's local VLAN {intended or 'unset'}"
    )
    if bridge.name != want_bridge:
        return _d(
            name,
            text + f"; the agent's integration bridge is {want_bridge}",
            cause="VM interface on the wrong bridge",
            catalogue=None,
            next_step=f"move {pt.name} to {want_bridge}",
        )
    if pt.tag == 4095:
        return _d(
            name,
            text + ": dead VLAN 4095, the L2 agent could not wire the port",
            cause="L2 agent could not wire the port (dead VLAN)",
            catalogue=3,
            next_step=f"read the OVS agent's log on {ev.compute} for port {f.port.id}",
        )
    if intended and str(pt.tag) != intended:
        return _d(
            name,
            text + ": the port's tag is not the local VLAN the agent assigned",
            cause="wrong local VLAN tag on br-int",
            catalogue=None,
            next_step=f"ovs-vsctl set Port {pt.name} tag={intended} (or restart the OVS agent to resync)",
        )
    if pt.tag is None:
        return _d(
            name,
            text + ": no local VLAN tag",
            cause="port not wired by the L2 agent",
            catalogue=3,
            next_step=f"read the OVS agent's log on {ev.compute}",
        )
    if iface.ofport is not None and iface.ofport < 0:
        return _d(
            name,
            text + f": OVS could not add it: {iface.error}",
            cause="VM interface broken in OVS",
            catalogue=None,
            next_step=f"ovs-vsctl list Interface {iface.name} on {ev.compute}",
        )
    return _ok(name, text)


def underlay(f: Facts, ev: Evidence) -> Check:
    seg = f.network.segment if f.network else None
    name = "underlay path"
    if seg is None or not ev.compute:
        return _skip(name, "no segment or no binding host")
    if not ev.peers:
        return _ok(name, f"the DHCP server and router are on {ev.compute} itself: no underlay hop")
    if seg.network_type in ENCAP_OVERHEAD:
        return _tunnel(f, ev, seg.network_type)
    if seg.network_type == "vlan":
        return _vlan(f, ev, seg.segmentation_id)
    return _ok(name, f"{seg.network_type} network: untagged on physnet {seg.physical_network}")


def _tunnel(f: Facts, ev: Evidence, net_type: str) -> Check:
    name = f"{net_type} tunnel path"
    agent = f.l2_agent(ev.compute)
    src = agent.tunnel_ip if agent else None
    if not src:
        return _d(
            name,
            f"the agent on {ev.compute} reports no tunneling_ip",
            cause="tunnel underlay broken",
            catalogue=5,
            next_step=f"set [ovs] local_ip on {ev.compute}",
        )
    parts = []
    for peer in ev.peers:
        res = ev.tunnel_ping.get(peer)
        if res is None:
            continue
        if isinstance(res, BaseException):
            return _probe_error(name, res)
        dst = res.results[0].target
        text = f"{ev.compute} {src} -> {peer} {dst}: {_ping_text(res)}"
        if not _answered(res) or res.results[0].received < res.results[0].sent:
            return _d(
                name,
                text
                + f": the tunnel endpoints do not reach each other (UDP {'4789' if net_type == 'vxlan' else 'encapsulation'} rides this path)",  # noqa: E501
                cause="tunnel underlay broken",
                catalogue=5,
                next_step=f"check routing/firewalls between {src} and {dst} (local_ip of both agents); "
                f"`steth check mesh` on the tunnel network",
            )
        parts.append(text)
    lost = _encapsulated_loss(ev)
    if lost:
        return _d(
            name,
            "; ".join(parts) + f"; but {lost}, although ICMP between the endpoints works: the "
            f"encapsulation ({'UDP 4789' if net_type == 'vxlan' else net_type}) is dropped on the path",
            cause="tunnel underlay broken",
            catalogue=5,
            next_step=f"find the firewall/ACL between {ev.compute} and {', '.join(ev.peers)} that drops "
            f"{'UDP 4789' if net_type == 'vxlan' else net_type + ' packets'} (security groups of "
            "the hosts, iptables, switch ACLs)",
        )
    return _ok(name, "; ".join(parts) or "no peers to probe")


def _encapsulated_loss(ev: Evidence) -> str:
    """From the DHCP trace: a broadcast that left one node's uplink (encapsulated) and never reached the
    other's: the real tunnel traffic is lost even when pings between the endpoints pass."""
    a = ev.dhcp
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


def _vlan(f: Facts, ev: Evidence, seg_id: int | None) -> Check:
    name = "VLAN trunk"
    rep = ev.vlan
    if (unusable := _unusable(name, rep, "not probed")) is not None:
        return unusable
    assert isinstance(rep, VlanReport)
    if rep.errors:
        return error(name, "; ".join(f"{n}: {e}" for n, e in rep.errors.items()))
    lost = [f"{s} -> {r}" for s, r in rep.pairs() if seg_id in rep.missing(s, r)]
    where = ", ".join(f"{n} {rep.interfaces.get(n, '?')}" for n in rep.nodes)
    if lost:
        return _d(
            name,
            f"802.1Q frames with VLAN {seg_id} sent between {where}: lost {', '.join(lost)}",
            cause="VLAN not trunked",
            catalogue=11,
            next_step=f"allow VLAN {seg_id} on the switch ports toward {', '.join(sorted({x.split(' -> ')[1] for x in lost}))}",  # noqa: E501
        )
    return _ok(name, f"802.1Q frames with VLAN {seg_id} crossed every way between {where}")


def flood_flows(f: Facts, ev: Evidence) -> Check:
    name = "tunnel flood flows"
    seg = f.network.segment if f.network else None
    if seg is None or seg.network_type not in ENCAP_OVERHEAD or not ev.peers:
        return _skip(name, "not a tunnelled network, or no remote peer")
    flows = ev.flood_flows
    if (unusable := _unusable(name, flows, "not probed")) is not None:
        return unusable
    assert isinstance(flows, OvsFlowsResponse)
    if flows.verdict != Verdict.OK:
        return error(name, flows.detail)
    shown = ev.ovs.get(ev.compute or "")
    found = vif(ev, f.port.id)
    if found is None:
        return _skip(name, "the VM's port is not on br-int")
    tag = found[1].tag
    ofports = shown.tunnel_ofports()
    mine = [fl for fl in flows.flows if tag is not None and f"dl_vlan={tag}" in fl]
    missing = []
    for peer in ev.peers:
        agent = f.l2_agent(peer)
        ofport = ofports.get(agent.tunnel_ip if agent else "")
        if ofport is None:
            missing.append(f"{peer} (no tunnel port to {agent.tunnel_ip if agent else '?'} on br-tun)")
        elif not any(f"output:{ofport}" in fl for fl in mine):
            missing.append(f"{peer} (tunnel port ofport {ofport})")
    text = f"br-tun table 22 on {ev.compute}, local VLAN {tag}: " + (" | ".join(mine) or "no flow")
    if missing:
        return _d(
            name,
            text + f"; no flooding to {', '.join(missing)}",
            cause="missing tunnel flood flows",
            catalogue=16,
            next_step=f"restart the OVS agent on {ev.compute} (it rebuilds br-tun) and check "
            "l2population's fdb entries",
        )
    return _ok(name, text)


def mtu(f: Facts, ev: Evidence) -> Check:
    name = "MTU"
    seg = f.network.segment if f.network else None
    net_mtu = (f.network.mtu if f.network else None) or 1500
    if seg is None or not ev.compute:
        return _skip(name, "no segment or no binding host")
    if seg.network_type in ENCAP_OVERHEAD:
        overhead = ENCAP_OVERHEAD[seg.network_type]
        parts = []
        for peer in ev.peers:
            res = ev.mtu_ping.get(peer)
            if res is None:
                continue
            if isinstance(res, BaseException):
                return _probe_error(name, res)
            r = res.results[0]
            text = (
                f"network MTU {net_mtu} + {seg.network_type} overhead {overhead} = {net_mtu + overhead} bytes "
                f"with DF, {ev.compute} -> {peer} {r.target}: {_ping_text(res)}"
            )
            if r.received == 0:
                return _d(
                    name,
                    text + ": full-size encapsulated packets do not pass the underlay",
                    cause="MTU / overlay overhead mismatch",
                    catalogue=2,
                    next_step=f"raise the underlay MTU between {ev.compute} and {peer} to at least "
                    f"{net_mtu + overhead}, or lower the network's MTU to the underlay's minus {overhead} "
                    f"(openstack network set --mtu N; existing ports keep the old MTU until recreated)",
                )
            parts.append(text)
        return _ok(name, "; ".join(parts) or f"network MTU {net_mtu}; no remote tunnel peer")
    # VLAN / flat: the physnet NIC on every node must carry the network MTU
    small = []
    seen = []
    for host in [ev.compute, *ev.peers]:
        ifaces = ev.interfaces.get(host)
        if isinstance(ifaces, BaseException):
            return _probe_error(name, ifaces)
        nic = physnet_nic(f, ev, host, seg.physical_network)
        iface = next((i for i in ifaces or [] if isinstance(i, Interface) and i.name == nic), None)
        if iface is None:
            continue
        seen.append(f"{host} {nic} MTU {iface.mtu}")
        if iface.mtu < net_mtu:
            small.append(f"{host} {nic} MTU {iface.mtu}")
    if small:
        return _d(
            name,
            f"network MTU {net_mtu}; {', '.join(seen)}: {', '.join(small)} cannot carry full frames",
            cause="MTU mismatch on the physical network",
            catalogue=2,
            next_step=f"raise the NIC/switch MTU to {net_mtu} or lower the network's MTU",
        )
    return _ok(name, f"network MTU {net_mtu}; {', '.join(seen) or 'NICs not found'}")


def dhcp(f: Facts, ev: Evidence) -> Check:
    name = "DHCP exchange"
    a = ev.dhcp
    if (unusable := _unusable(name, a, "not traced (no DHCP on the subnet, or the port is not on br-int)")) is not None:
        return unusable
    assert isinstance(a, dhcp_check.Analysis)
    hops = ", ".join(f"{h.node}/{h.hop}:{'D' if h.discover else '-'}{'O' if h.offer else '-'}" for h in a.hops)
    text = f"{a.reason} [hops D=DISCOVER O=OFFER seen: {hops}]"
    if a.verdict == Verdict.OK:
        return _ok(name, text)
    if a.verdict == Verdict.ERROR:
        return error(name, text)
    if a.rogue and "rogue" in a.reason:
        return _d(
            name,
            text,
            cause="rogue DHCP server",
            catalogue=6,
            next_step="find the rogue server by its MAC and remove it from the network",
        )
    if "no OFFER" in a.reason:
        return _d(
            name,
            text,
            cause="DHCP server not answering",
            catalogue=6,
            next_step=f"on {', '.join(f.dhcp_hosts)}: is dnsmasq for network {f.network.id} running and "
            "does its log show the DISCOVER? restart the DHCP agent",
        )
    return _d(
        name,
        text,
        cause="DHCP path broken",
        catalogue=6,
        next_step="the DISCOVER or OFFER is lost between the named hops: check that hop's flows and links",
    )


def vm_sources(f: Facts, ev: Evidence) -> Check:
    name = "VM source addresses"
    frames = ev.vm_frames
    if (unusable := _unusable(name, frames, "not captured")) is not None:
        return unusable
    if not f.port.port_security_enabled:
        return _skip(name, "port security off")
    allowed = [ipaddress.ip_network(ip, strict=False) for ip in f.port.ips]
    allowed += [
        ipaddress.ip_network(a["ip_address"], strict=False) for a in f.port.allowed_address_pairs if a.get("ip_address")
    ]
    sources: dict[str, int] = {}
    for s in frames:
        if s.src and s.src not in ("0.0.0.0", "::"):
            try:
                addr = ipaddress.ip_address(s.src)
            except ValueError:
                continue
            if not any(addr in n for n in allowed if n.version == addr.version):
                sources[s.src] = sources.get(s.src, 0) + 1
    seen = f"{len(frames)} frames from {f.port.mac_address} on its tap in {SPOOF_WINDOW:g} s"
    if sources:
        bad = ", ".join(f"{ip} ({n} frames)" for ip, n in sources.items())
        return _d(
            name,
            f"{seen}; source addresses not on the port: {bad}; the port allows {', '.join(str(n) for n in allowed)}",
            cause="anti-spoofing drops the VM's traffic",
            catalogue=12,
            next_step=f"configure the VM with {', '.join(f.port.ips)} (DHCP), or add the "
            f"address: openstack port set --allowed-address ip-address=<ip> {f.port.id}",
        )
    return _ok(name, seen + (": all from the port's addresses" if frames else " (the VM was quiet)"))


def _reach(name: str, f: Facts, res, where: str, source_ips: list[str]) -> Check:
    if (unusable := _unusable(name, res, "not probed")) is not None:
        return unusable
    blocked = [s for s in source_ips if not ingress_icmp_allowed(f, s)]
    text = f"ping {f.fixed_ip} from {where}: {_ping_text(res)}"
    if _answered(res):
        return _ok(name, text)
    if blocked:
        return skipped(
            name,
            text + f"; the security groups do not allow ingress ICMP from {', '.join(blocked)}, "
            "so silence proves nothing",
            plane="data",
        )
    return _d(
        name,
        text + ": the VM does not answer on its fixed IP",
        cause="VM does not answer on its network",
        catalogue=None,
        next_step="check the VM's console: is its interface up with the fixed IP (DHCP), "
        "and does its own firewall allow ICMP?",
    )


def from_dhcp(f: Facts, ev: Evidence) -> list[Check]:
    out = []
    for host, res in ev.from_dhcp.items():
        srcs = [ip for p in f.dhcp_ports if p.binding_host == host for ip in p.ips]
        out.append(_reach("reachable from DHCP namespace", f, res, f"qdhcp-{f.network.id[:8]}... on {host}", srcs))
    return out or [_skip("reachable from DHCP namespace", "no DHCP port or no IPv4 fixed IP")]


def router_namespace(f: Facts, ev: Evidence) -> Check:
    name = "router namespace"
    if f.router is None:
        return _skip(name, "no router")
    nat = ev.nat
    if (unusable := _unusable(name, nat, "no L3 agent hosts the router")) is not None:
        return unusable
    assert isinstance(nat, IptablesResponse)
    if "does not exist" in nat.detail:
        return _d(
            name,
            f"{qrouter(f.router.id)} does not exist on {f.l3_host}",
            cause="router not deployed on its L3 agent",
            catalogue=7,
            next_step=f"read the L3 agent's log on {f.l3_host}; resync: restart the agent",
        )
    if nat.verdict != Verdict.OK:
        return error(name, nat.detail)
    return _ok(name, f"{qrouter(f.router.id)} on {f.l3_host}")


def from_router(f: Facts, ev: Evidence) -> Check:
    srcs = list(f.router_port.ips) if f.router_port else []
    return _reach("reachable from router", f, ev.from_router, f"qrouter on {f.l3_host}", srcs)


def router_gateway(f: Facts, ev: Evidence) -> Check:
    name = "external gateway reachable"
    res = ev.router_gateway
    if (unusable := _unusable(name, res, "no router gateway or no gateway_ip on the external subnet")) is not None:
        return unusable
    gw = f.external_subnet.gateway_ip if f.external_subnet else "?"
    text = f"ping {gw} (external subnet's gateway) from qrouter on {f.l3_host}: {_ping_text(res)}"
    if not _answered(res):
        return _d(
            name,
            text,
            cause="external gateway unreachable",
            catalogue=8,
            next_step=f"check the external network's physnet/bridge on {f.l3_host} and the upstream router "
            f"{gw} (ARP, VLAN, cabling)",
        )
    return _ok(name, text)


def nat_rules(f: Facts, ev: Evidence) -> Check:
    name = "NAT rules"
    r = f.router
    nat = ev.nat
    if r is None or not r.has_gateway:
        return _skip(name, "no router gateway")
    if not isinstance(nat, IptablesResponse) or nat.verdict != Verdict.OK:
        return _skip(name, "router namespace not readable")
    rules = nat.rules
    problems, found = [], []
    if r.enable_snat:
        for gw in r.gateway_ips:
            if ":" in gw:
                continue
            hit = [x for x in rules if "-j SNAT" in x and f"--to-source {gw}" in x and "-s " not in x.split("-j")[0]]
            (found if hit else problems).append(f"SNAT to {gw}" + (f": {hit[0]}" if hit else " missing"))
    for fip in f.floating_ips:
        dnat = [x for x in rules if f"-d {fip.address}/32" in x and f"--to-destination {fip.fixed_ip}" in x]
        snat = [x for x in rules if f"-s {fip.fixed_ip}/32" in x and f"--to-source {fip.address}" in x]
        (found if dnat else problems).append(
            f"DNAT {fip.address} -> {fip.fixed_ip}" + (": " + dnat[0] if dnat else " missing")
        )
        (found if snat else problems).append(
            f"SNAT {fip.fixed_ip} -> {fip.address}" + (": " + snat[0] if snat else " missing")
        )
    where = f"iptables -t nat in {qrouter(r.id)} on {f.l3_host} ({len(rules)} lines)"
    if problems:
        return _d(
            name,
            f"{where}: {'; '.join(problems)}" + (f"; present: {'; '.join(found)}" if found else ""),
            cause="NAT not programmed in the router",
            catalogue=22,
            next_step=f"restart the L3 agent on {f.l3_host} (it rewrites the router's iptables) and read its log",
        )
    return _ok(name, f"{where}: {'; '.join(found) or 'nothing needed'}")


def to_target(f: Facts, ev: Evidence) -> Check:
    name = "destination reachable from router"
    if f.to is None:
        return _skip(name, "no --to given")
    res = ev.to
    if (unusable := _unusable(name, res, "no router with a gateway to probe from")) is not None:
        return unusable
    if isinstance(res, TcpConnectResult):
        text = (
            f"TCP connect to {res.address}:{res.port} from qrouter on {f.l3_host}: "
            f"{'connected in ' + str(res.seconds) + ' s' if res.connected else res.error}"
        )
        good = res.connected
    else:
        text = f"ping {f.to.address} from qrouter on {f.l3_host}: {_ping_text(res)}"
        good = _answered(res)
    if not good:
        return _d(
            name,
            text,
            cause="destination unreachable beyond the router",
            catalogue=8,
            next_step=f"the path beyond the external gateway: upstream routes toward {f.to.address}, "
            "its firewall, and the return route to the router's gateway address",
        )
    return _ok(name, text)


def dns_reach(f: Facts, ev: Evidence) -> Check:
    name = "DNS servers reachable"
    res = ev.dns
    if (unusable := _unusable(name, res, "no DNS servers on the subnet, or no router gateway")) is not None:
        return unusable
    bad = [r.target for r in res.results if r.received == 0]
    text = "; ".join(f"{r.target}: {r.received}/{r.sent}" for r in res.results)
    if bad:
        return warn(
            name,
            f"ping from qrouter on {f.l3_host}: {text}",
            plane="data",
            next_step=f"names will not resolve: fix the route to {', '.join(bad)} or the subnet's dns_nameservers",
        )
    return _ok(name, f"ping from qrouter on {f.l3_host}: {text}")


def data_checks(f: Facts, ev: Evidence) -> list[Check]:
    if f.port is None:
        return []
    checks = [ovs_port(f, ev), underlay(f, ev), flood_flows(f, ev), mtu(f, ev), dhcp(f, ev), vm_sources(f, ev)]
    checks += from_dhcp(f, ev)
    if f.router is not None:
        checks += [
            router_namespace(f, ev),
            from_router(f, ev),
            router_gateway(f, ev),
            nat_rules(f, ev),
            to_target(f, ev),
            dns_reach(f, ev),
        ]
    return checks
