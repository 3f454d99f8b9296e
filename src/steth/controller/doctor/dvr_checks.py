"""Checks of a port's path through a distributed router (ML2/OVS with DVR); evidence in dvr_evidence.py.

Control plane: the L3 agents' ``agent_mode`` against the part they play for this VM (its compute node
routes: ``dvr``; the SNAT node: ``dvr_snat``) and whether they are alive. Data plane: the compute
node's own ``qrouter-`` (the VM's first hop), its ``fip-`` namespace and ``fg-`` port for a floating
IP, the ``snat-`` namespace with the subnet's ``sg-`` port otherwise, the NAT rules where they live,
the DVR MACs the Open vSwitch agents registered, and what the egress namespace reaches.
"""

from __future__ import annotations

import ipaddress

from ...wire.models import IptablesResponse, Namespace, OvsShowResponse, Verdict
from .dvr_evidence import (
    DVR_MODES,
    LOCAL_NAT,
    NETNS,
    SNAT_NAT,
    agent_mode,
    fip_ns,
    is_l3,
    local_l3,
    namespace,
    qrouter_ns,
    snat_agent,
    snat_host,
    snat_ns,
    uses_fip,
)
from .evidence import Evidence
from .facts import Facts
from .model import CheckResult
from .neutron_port import describe_agent
from .neutron_services import l3_needed
from .ovs_evidence import OVS
from .registry import Check, check

DEAD_VLAN = 4095


class RoutedCheck(Check):
    """Only for a port whose subnet has a router."""

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.router is not None


class _Snat(RoutedCheck):
    """Only where the VM's traffic goes through the router's SNAT (no floating IP, leaving the network)."""

    def applies(self, f: Facts) -> bool:
        return super().applies(f) and not uses_fip(f) and f.router is not None and f.router.has_gateway


class _Fip(RoutedCheck):
    def applies(self, f: Facts) -> bool:
        return super().applies(f) and uses_fip(f)


def _addresses(ns: Namespace, prefix: str) -> list[tuple[str, str]]:
    """(interface, address/prefix) of the namespace's interfaces named ``prefix``..."""
    return [
        (i.name, f"{a.address}/{a.prefixlen}")
        for i in ns.interfaces
        if i.name.startswith(prefix)
        for a in i.addresses
        if a.family == 4
    ]


def _in(cidr: str | None, addresses: list[tuple[str, str]]) -> list[str]:
    if not cidr:
        return []
    net = ipaddress.ip_network(cidr)
    return [f"{n} {a}" for n, a in addresses if ipaddress.ip_interface(a).ip in net]


@check
class L3AgentModes(RoutedCheck):
    key = "dvr-l3-agent-modes"
    name = "L3 agent modes"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        modes = "; ".join(f"{a.host}: {agent_mode(a)}" for a in f.agents if is_l3(a)) or "none"
        local = local_l3(f)
        if local is None:
            return self.fail(
                f"no L3 agent on {f.compute}, the VM's compute node (L3 agents: {modes})",
                cause="no L3 agent on the compute node (DVR)",
                catalogue=7,
                next_step=f"run neutron-l3-agent with agent_mode = dvr on {f.compute}",
            )
        if agent_mode(local) not in DVR_MODES:
            return self.fail(
                f"the L3 agent on {f.compute} (the VM's compute node) runs agent_mode={agent_mode(local)}, "
                f"not dvr: it does not route the distributed router there (L3 agents: {modes})",
                cause="L3 agent in the wrong agent_mode",
                catalogue=7,
                next_step=f"set agent_mode = dvr in l3_agent.ini on {f.compute} and restart the agent",
            )
        snat = snat_agent(f)
        assert f.router is not None
        if f.router.has_gateway and f.router.enable_snat and snat is None:
            hosting = "; ".join(f"{a.host}: {agent_mode(a)}" for a in f.l3_agents) or "none"
            return self.fail(
                f"no L3 agent in dvr_snat mode hosts router {f.router.name or f.router.id} (its agents: {hosting})",
                cause="no dvr_snat agent for the router's SNAT",
                catalogue=7,
                next_step="run an L3 agent with agent_mode = dvr_snat on a network node with the external network",
            )
        return self.ok(f"{f.compute}: {agent_mode(local)}; SNAT on {snat.host if snat else '-'}; all: {modes}")


@check
class DvrL3AgentsAlive(RoutedCheck):
    key = "dvr-l3-agents-alive"
    name = "L3 agents on the path alive"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        local = local_l3(f)
        if local is None:
            return self.skipped("no L3 agent on the compute node")
        snat = snat_agent(f)
        text = describe_agent(local) + (f"; SNAT: {describe_agent(snat)}" if snat else "")
        if not (local.alive and local.admin_state_up):
            return self.fail(
                text,
                cause="L3 agent down on the VM's compute node",
                catalogue=3,
                next_step=f"restart the L3 agent on {f.compute} and read its log",
            )
        if snat is not None and not uses_fip(f) and l3_needed(f) and not (snat.alive and snat.admin_state_up):
            return self.fail(
                text,
                cause="L3 agent of the router's SNAT down",
                catalogue=3,
                next_step=f"restart the L3 agent on {snat.host} and read its log",
            )
        return self.ok(text)


@check
class LocalRouter(RoutedCheck):
    """The VM's first hop: the router's namespace on its own compute node, with the subnet's gateway."""

    key = "dvr-local-router"
    name = "router on the compute node"
    plane = "data"
    needs = (NETNS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        found = ev[NETNS].get(f.compute or "")
        if (unusable := self.unusable(found, f"{f.compute} not probed")) is not None:
            return unusable
        ns = namespace(found, qrouter_ns(f))
        if ns is None:
            return self.fail(
                f"{qrouter_ns(f)} does not exist on {f.compute}, the VM's compute node",
                cause="distributed router missing on the compute node",
                catalogue=7,
                next_step=f"read the L3 agent's log on {f.compute}; resync: restart the agent",
            )
        gw = f.subnet.gateway_ip if f.subnet else None
        qr = _addresses(ns, "qr-")
        if gw and not any(a.split("/")[0] == gw for _, a in qr):
            return self.fail(
                f"{qrouter_ns(f)} on {f.compute} has no qr- port with the subnet's gateway {gw} "
                f"(qr- ports: {', '.join(f'{n} {a}' for n, a in qr) or 'none'})",
                cause="distributed router not plugged into the VM's subnet on the compute node",
                catalogue=7,
                next_step=f"restart the L3 agent on {f.compute} and read its log",
            )
        return self.ok(f"{qrouter_ns(f)} on {f.compute}: {', '.join(f'{n} {a}' for n, a in qr)}")


@check
class FipNamespace(_Fip):
    key = "dvr-fip-namespace"
    name = "floating IP namespace"
    plane = "data"
    needs = (NETNS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        found = ev[NETNS].get(f.compute or "")
        if (unusable := self.unusable(found, f"{f.compute} not probed")) is not None:
            return unusable
        fip, qr = namespace(found, fip_ns(f)), namespace(found, qrouter_ns(f))
        if fip is None:
            return self.fail(
                f"{fip_ns(f)} does not exist on {f.compute}: the floating IP has no way out from there",
                cause="floating IP namespace missing on the compute node",
                catalogue=22,
                next_step=f"restart the L3 agent on {f.compute} (it rebuilds the fip- namespace) and read its log",
            )
        ext = f.external_subnet.cidr if f.external_subnet else None
        fg = _in(ext, _addresses(fip, "fg-"))
        fpr = [i.name for i in fip.interfaces if i.name.startswith("fpr-")]
        rfp = [i.name for i in (qr.interfaces if qr else []) if i.name.startswith("rfp-")]
        problems = []
        if not fg:
            problems.append(f"no fg- port with an address of the external subnet {ext}")
        if not fpr or not rfp:
            problems.append("no rfp-/fpr- pair between the router and the fip- namespace")
        pair = f"fpr {', '.join(fpr) or '-'}; rfp {', '.join(rfp) or '-'}"
        text = f"{fip_ns(f)} on {f.compute}: fg {', '.join(fg) or '-'}; {pair}"
        if problems:
            return self.fail(
                f"{text}: {'; '.join(problems)}",
                cause="floating IP namespace incomplete on the compute node",
                catalogue=22,
                next_step=f"restart the L3 agent on {f.compute} and read its log",
            )
        return self.ok(text)


@check
class FipGatewayPort(_Fip):
    key = "dvr-fip-gateway-port"
    name = "fip- gateway port on br-int"
    plane = "data"
    needs = (OVS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        shown = ev[OVS].get(f.compute or "")
        if (unusable := self.unusable(shown, f"Open vSwitch of {f.compute} not probed")) is not None:
            return unusable
        assert isinstance(shown, OvsShowResponse)
        ports = [(b.name, p) for b in shown.bridges for p in b.ports if p.name.startswith("fg-")]
        if not ports:
            return self.fail(
                f"no fg- port on any bridge of {f.compute}",
                cause="floating IP gateway port not plugged",
                catalogue=22,
                next_step=f"restart the L3 agent on {f.compute} and read its log",
            )
        dead = [f"{p.name} on {b} tag {p.tag}" for b, p in ports if p.tag == DEAD_VLAN]
        if dead:
            return self.fail(
                f"{', '.join(dead)}: the dead VLAN drops every frame of the floating IPs on {f.compute}",
                cause="fip- gateway port dead-tagged",
                catalogue=5,
                next_step=f"the OVS agent on {f.compute} did not wire the port: restart it and read its log",
            )
        return self.ok(", ".join(f"{p.name} on {b} tag {p.tag}" for b, p in ports))


@check
class SnatNamespace(_Snat):
    key = "dvr-snat-namespace"
    name = "SNAT namespace"
    plane = "data"
    needs = (NETNS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        host = snat_host(f)
        if not host:
            return self.skipped("no dvr_snat agent hosts the router")
        found = ev[NETNS].get(host)
        if (unusable := self.unusable(found, f"{host} not probed")) is not None:
            return unusable
        ns = namespace(found, snat_ns(f))
        if ns is None:
            return self.fail(
                f"{snat_ns(f)} does not exist on {host}",
                cause="SNAT namespace missing",
                catalogue=7,
                next_step=f"restart the L3 agent on {host} and read its log",
            )
        sg, qg = _addresses(ns, "sg-"), _addresses(ns, "qg-")
        cidr = f.subnet.cidr if f.subnet else None
        mine = _in(cidr, sg)
        text = (
            f"{snat_ns(f)} on {host}: sg {', '.join(f'{n} {a}' for n, a in sg) or '-'}; "
            f"qg {', '.join(f'{n} {a}' for n, a in qg) or '-'}"
        )
        if not mine:
            return self.fail(
                f"{text}: no sg- port on the VM's subnet {cidr}",
                cause="SNAT port of the subnet missing",
                catalogue=7,
                next_step=f"restart the L3 agent on {host} (it replugs the sg- ports) and read its log",
            )
        if not qg:
            return self.fail(
                f"{text}: no qg- port", cause="SNAT namespace without gateway port", catalogue=7,
                next_step=f"restart the L3 agent on {host} and read its log",
            )  # fmt: skip
        return self.ok(text)


@check
class DvrNatRules(RoutedCheck):
    """The floating IP's DNAT/SNAT in the compute node's qrouter-, or the router's SNAT in snat-."""

    key = "dvr-nat-rules"
    name = "NAT rules (DVR)"
    plane = "data"
    needs = (LOCAL_NAT, SNAT_NAT)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        r = f.router
        assert r is not None
        if not r.has_gateway:
            return self.skipped("no router gateway")
        fip = uses_fip(f)
        nat, host, ns = (ev[LOCAL_NAT], f.compute, qrouter_ns(f)) if fip else (ev[SNAT_NAT], snat_host(f), snat_ns(f))
        if not isinstance(nat, IptablesResponse) or nat.verdict != Verdict.OK:
            return self.skipped(f"{ns} on {host} not readable")
        rules = nat.rules
        problems: list[str] = []
        found: list[str] = []
        if fip:
            for x in f.floating_ips:
                dnat = [y for y in rules if f"-d {x.address}/32" in y and f"--to-destination {x.fixed_ip}" in y]
                snat = [y for y in rules if f"-s {x.fixed_ip}/32" in y and f"--to-source {x.address}" in y]
                (found if dnat else problems).append(
                    f"DNAT {x.address} -> {x.fixed_ip}" + (" ok" if dnat else " missing")
                )
                (found if snat else problems).append(
                    f"SNAT {x.fixed_ip} -> {x.address}" + (" ok" if snat else " missing")
                )
        elif r.enable_snat:
            for gw in (g for g in r.gateway_ips if ":" not in g):
                hit = [y for y in rules if "-j SNAT" in y and f"--to-source {gw}" in y]
                (found if hit else problems).append(f"SNAT to {gw}" + (" ok" if hit else " missing"))
        where = f"iptables -t nat in {ns} on {host} ({len(rules)} lines)"
        if problems:
            return self.fail(
                f"{where}: {'; '.join(problems + found)}",
                cause="NAT not programmed in the router",
                catalogue=22,
                next_step=f"restart the L3 agent on {host} (it rewrites the NAT rules) and read its log",
            )
        return self.ok(f"{where}: {'; '.join(found) or 'nothing needed'}")
