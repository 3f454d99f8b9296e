"""Data-plane checks of the services on the path: the DHCP exchange, the VM's own frames, and what the
DHCP and router namespaces reach (the VM, the external gateway, the destination, DNS), with the NAT rules."""

from __future__ import annotations

import ipaddress

from ...wire.models import IptablesResponse, PingResponse, TcpConnectResult, Verdict
from ..checks import dhcp as dhcp_check
from .evidence import Evidence
from .facts import Facts
from .model import CheckResult
from .neutron_port import ingress_icmp_allowed
from .ns_evidence import DNS, FROM_DHCP, FROM_ROUTER, NAT, ROUTER_GATEWAY, TO, qrouter
from .ovs_evidence import DHCP, SPOOF_WINDOW, VM_FRAMES
from .ovs_path import answered, ping_text
from .registry import Check, check
from .vm_checks import router_faults, router_step
from .vm_probe import ROUTER_FORWARDING


@check
class DhcpExchange(Check):
    key = "dhcp-exchange"
    name = "DHCP exchange"
    plane = "data"
    needs = (DHCP,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        a = ev[DHCP]
        missing = "not traced (no DHCP on the subnet, or the port is not on br-int)"
        if (unusable := self.unusable(a, missing)) is not None:
            return unusable
        assert isinstance(a, dhcp_check.Analysis)
        hops = ", ".join(f"{h.node}/{h.hop}:{'D' if h.discover else '-'}{'O' if h.offer else '-'}" for h in a.hops)
        text = f"{a.reason} [hops D=DISCOVER O=OFFER seen: {hops}]"
        if a.verdict == Verdict.OK:
            return self.ok(text)
        if a.verdict == Verdict.ERROR:
            gone = next((h for h in a.hops if h.error and _absent(h.error)), None)
            if gone is None:
                return self.error(text)  # the trace itself could not run (an agent, a tool)
            return self.fail(  # a fact, not a failed probe: an interface of the path is not there
                f"{text}; {gone.node}/{gone.hop} ({gone.interface}): {gone.error}",
                cause="no DHCP server for the network" if gone.hop == "qdhcp" else "interface of the path missing",
                catalogue=6 if gone.hop == "qdhcp" else None,
                next_step=f"on {gone.node}: the DHCP agent builds qdhcp-{f.vm_network.id} and its tap; restart it"
                if gone.hop == "qdhcp"
                else f"on {gone.node}: {gone.interface} should exist (the agent that plugs it, and its log)",
            )
        if a.rogue and "rogue" in a.reason:
            return self.fail(
                text,
                cause="rogue DHCP server",
                catalogue=6,
                next_step="find the rogue server by its MAC and remove it from the network",
            )
        if "no OFFER" in a.reason:
            return self.fail(
                text,
                cause="DHCP server not answering",
                catalogue=6,
                next_step=f"on {', '.join(f.dhcp_hosts)}: is dnsmasq for network {f.vm_network.id} running and "
                "does its log show the DISCOVER? restart the DHCP agent",
            )
        return self.fail(
            text,
            cause="DHCP path broken",
            catalogue=6,
            next_step="the DISCOVER or OFFER is lost between the named hops: check that hop's flows and links",
        )


def _absent(error: str) -> bool:
    """A capture that could not start because its interface or namespace is not there."""
    return "No such device" in error or "does not exist" in error


@check
class VmSourceAddresses(Check):
    """The VM sends only from its port's addresses (or allowed pairs): anti-spoofing drops the rest."""

    key = "vm-source-addresses"
    name = "VM source addresses"
    plane = "data"
    needs = (VM_FRAMES,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        frames = ev[VM_FRAMES]
        if (unusable := self.unusable(frames, "not captured")) is not None:
            return unusable
        assert isinstance(frames, list)
        p = f.vm_port
        if not p.port_security_enabled:
            return self.skipped("port security off")
        allowed = [ipaddress.ip_network(ip, strict=False) for ip in p.ips]
        allowed += [
            ipaddress.ip_network(a["ip_address"], strict=False) for a in p.allowed_address_pairs if a.get("ip_address")
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
        seen = f"{len(frames)} frames from {p.mac_address} on its tap in {SPOOF_WINDOW:g} s"
        if sources:
            bad = ", ".join(f"{ip} ({n} frames)" for ip, n in sources.items())
            return self.fail(
                f"{seen}; source addresses not on the port: {bad}; the port allows "
                f"{', '.join(str(n) for n in allowed)}",
                cause="anti-spoofing drops the VM's traffic",
                catalogue=12,
                next_step=f"configure the VM with {', '.join(p.ips)} (DHCP), or add the "
                f"address: openstack port set --allowed-address ip-address=<ip> {p.id}",
            )
        return self.ok(seen + (": all from the port's addresses" if frames else " (the VM was quiet)"))


def _reach(c: Check, f: Facts, res: PingResponse | object, where: str, source_ips: list[str]) -> CheckResult:
    """A ping of the VM's fixed IP from a namespace: silence proves nothing if the groups drop it."""
    if (unusable := c.unusable(res, "not probed")) is not None:
        return unusable
    assert isinstance(res, PingResponse)
    blocked = [s for s in source_ips if not ingress_icmp_allowed(f, s)]
    text = f"ping {f.fixed_ip} from {where}: {ping_text(res)}"
    if answered(res):
        return c.ok(text)
    if blocked:
        return c.skipped(
            text + f"; the security groups do not allow ingress ICMP from {', '.join(blocked)}, "
            "so silence proves nothing"
        )
    return c.fail(
        text + ": the VM does not answer on its fixed IP",
        cause="VM does not answer on its network",
        catalogue=None,
        next_step="check the VM's console: is its interface up with the fixed IP (DHCP), "
        "and does its own firewall allow ICMP?",
    )


@check
class ReachableFromDhcp(Check):
    """One row per DHCP host: its namespace pings the VM."""

    key = "reachable-from-dhcp"
    name = "reachable from DHCP namespace"
    plane = "data"
    needs = (FROM_DHCP,)

    def judge(self, f: Facts, ev: Evidence) -> list[CheckResult]:
        out = []
        for host, res in ev[FROM_DHCP].items():
            srcs = [ip for p in f.dhcp_ports if p.binding_host == host for ip in p.ips]
            out.append(_reach(self, f, res, f"qdhcp-{f.vm_network.id[:8]}... on {host}", srcs))
        return out or [self.skipped("no DHCP port or no IPv4 fixed IP")]


class _RouterCheck(Check):
    """Probes from inside the router: only for a port whose subnet has one."""

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.router is not None


@check
class RouterNamespace(_RouterCheck):
    key = "router-namespace"
    name = "router namespace"
    plane = "data"
    needs = (NAT,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        assert f.router is not None
        nat = ev[NAT]
        if (unusable := self.unusable(nat, "no L3 agent hosts the router")) is not None:
            return unusable
        assert isinstance(nat, IptablesResponse)
        if "does not exist" in nat.detail:
            return self.fail(
                f"{qrouter(f.router.id)} does not exist on {f.l3_host}",
                cause="router not deployed on its L3 agent",
                catalogue=7,
                next_step=f"read the L3 agent's log on {f.l3_host}; resync: restart the agent",
            )
        if nat.verdict != Verdict.OK:
            return self.error(nat.detail)
        return self.ok(f"{qrouter(f.router.id)} on {f.l3_host}")


@check
class ReachableFromRouter(_RouterCheck):
    key = "reachable-from-router"
    name = "reachable from router"
    plane = "data"
    needs = (FROM_ROUTER,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        srcs = list(f.router_port.ips) if f.router_port else []
        return _reach(self, f, ev[FROM_ROUTER], f"qrouter on {f.l3_host}", srcs)


@check
class ExternalGatewayReachable(_RouterCheck):
    key = "external-gateway-reachable"
    name = "external gateway reachable"
    plane = "data"
    needs = (ROUTER_GATEWAY, ROUTER_FORWARDING)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        res = ev[ROUTER_GATEWAY]
        if (unusable := self.unusable(res, "no router gateway or no gateway_ip on the external subnet")) is not None:
            return unusable
        assert isinstance(res, PingResponse)
        gw = (f.external_subnet.gateway_ip if f.external_subnet else None) or "?"
        text = f"ping {gw} (external subnet's gateway) from qrouter on {f.l3_host}: {ping_text(res)}"
        if not answered(res):
            found, facts = router_faults(f, ev[ROUTER_FORWARDING], gw, forwarding=False)
            if found:  # the router's own side: its qg- or its routes
                return self.fail(
                    f"{text}; {qrouter(f.router.id) if f.router else 'qrouter'}: {'; '.join(found)}",
                    cause="router gateway interface down" if "down" in " ".join(found) else "router lacks the route",
                    catalogue=7,
                    next_step=router_step(found, qrouter(f.router.id) if f.router else "qrouter-", f.l3_host),
                )
            return self.fail(
                text + (f" ({'; '.join(facts)})" if facts else ""),
                cause="external gateway unreachable",
                catalogue=8,
                next_step=f"check the external network's physnet/bridge on {f.l3_host} and the upstream router "
                f"{gw} (ARP, VLAN, cabling)",
            )
        return self.ok(text)


@check
class NatRules(_RouterCheck):
    """The router's SNAT to its gateway address, and DNAT/SNAT of every floating IP of the port."""

    key = "nat-rules"
    name = "NAT rules"
    plane = "data"
    needs = (NAT,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        r = f.router
        nat = ev[NAT]
        if r is None or not r.has_gateway:
            return self.skipped("no router gateway")
        if not isinstance(nat, IptablesResponse) or nat.verdict != Verdict.OK:
            return self.skipped("router namespace not readable")
        rules = nat.rules
        problems: list[str] = []
        found: list[str] = []
        if r.enable_snat:
            for gw in r.gateway_ips:
                if ":" in gw:
                    continue
                hit = [
                    x for x in rules if "-j SNAT" in x and f"--to-source {gw}" in x and "-s " not in x.split("-j")[0]
                ]
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
            return self.fail(
                f"{where}: {'; '.join(problems)}" + (f"; present: {'; '.join(found)}" if found else ""),
                cause="NAT not programmed in the router",
                catalogue=22,
                next_step=f"restart the L3 agent on {f.l3_host} (it rewrites the router's iptables) and read its log",
            )
        return self.ok(f"{where}: {'; '.join(found) or 'nothing needed'}")


@check
class DestinationReachable(_RouterCheck):
    key = "destination-reachable"
    name = "destination reachable from router"
    plane = "data"
    needs = (TO, ROUTER_FORWARDING)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        if f.to is None:
            return self.skipped("no --to given")
        res = ev[TO]
        if (unusable := self.unusable(res, "no router with a gateway to probe from")) is not None:
            return unusable
        if isinstance(res, TcpConnectResult):
            text = (
                f"TCP connect to {res.address}:{res.port} from qrouter on {f.l3_host}: "
                f"{'connected in ' + str(res.seconds) + ' s' if res.connected else res.error}"
            )
            good = res.connected
        else:
            assert isinstance(res, PingResponse)
            text = f"ping {f.to.address} from qrouter on {f.l3_host}: {ping_text(res)}"
            good = answered(res)
        if not good:
            found, facts = router_faults(f, ev[ROUTER_FORWARDING], f.to.address, forwarding=False)
            ns = qrouter(f.router.id) if f.router else "qrouter-"
            if found:  # the router itself lacks the route (or its gateway interface): the router's, not upstream's
                return self.fail(
                    f"{text}; {ns} on {f.l3_host}: {'; '.join(found)}",
                    cause="router has no route to the destination"
                    if "no route" in " ".join(found)
                    else "router gateway interface down",
                    catalogue=7,
                    next_step=router_step(found, ns, f.l3_host),
                )
            return self.fail(
                text + (f" ({'; '.join(facts)})" if facts else ""),
                cause="destination unreachable beyond the router",
                catalogue=8,
                next_step=f"the path beyond the external gateway: upstream routes toward {f.to.address}, "
                "its firewall, and the return route to the router's gateway address",
            )
        return self.ok(text)


@check
class DnsServersReachable(_RouterCheck):
    key = "dns-servers-reachable"
    name = "DNS servers reachable"
    plane = "data"
    needs = (DNS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        res = ev[DNS]
        if (unusable := self.unusable(res, "no DNS servers on the subnet, or no router gateway")) is not None:
            return unusable
        assert isinstance(res, PingResponse)
        bad = [r.target for r in res.results if r.received == 0]
        text = "; ".join(f"{r.target}: {r.received}/{r.sent}" for r in res.results)
        if bad:
            return self.warn(
                f"ping from qrouter on {f.l3_host}: {text}",
                next_step=f"names will not resolve: fix the route to {', '.join(bad)} or the subnet's dns_nameservers",
            )
        return self.ok(f"ping from qrouter on {f.l3_host}: {text}")
