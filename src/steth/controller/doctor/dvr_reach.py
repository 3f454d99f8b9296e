"""DVR checks of what the agents' flows and pings show: the DVR MACs every Open vSwitch agent registered,
the VM from its compute node's router, and the external gateway and destination from the egress namespace.
The namespaces, ports and NAT rules are dvr_checks.py's."""

from __future__ import annotations

import re

from ...wire.models import PingResponse, TcpConnectResult
from .dvr_checks import RoutedCheck
from .dvr_evidence import FROM_ROUTER, GATEWAY, INT_FLOWS, TO, egress, qrouter_ns, snat_host, snat_ns, uses_fip
from .evidence import Evidence
from .facts import Facts
from .model import CheckResult
from .neutron_port import ingress_icmp_allowed
from .neutron_services import l3_needed
from .ovs_path import answered, ping_text
from .registry import Check, check

MAC_RE = re.compile(r"dl_src=([0-9a-f]{2}(?::[0-9a-f]{2}){5})")
DST_RE = re.compile(r"dl_dst=([0-9a-f]{2}(?::[0-9a-f]{2}){5})")


def dvr_macs(flows: list[str]) -> tuple[set[str], set[str]]:
    """(the host's own DVR MAC, the other hosts' DVR MACs) from its br-int flows: the OVS agent sends
    frames to its own MAC on (priority 5, ``dl_dst``) and lets the others' in (priority 2 or 4, ``dl_src``)."""
    own, remote = set(), set()
    for line in flows:
        if "priority=5," in line:
            own |= set(DST_RE.findall(line))
        elif "priority=4," in line or "priority=2," in line:
            remote |= set(MAC_RE.findall(line))
    return own, remote


@check
class DvrMacs(RoutedCheck):
    """Every DVR host's MAC registered in the br-int flows of the VM's compute node and of the SNAT node."""

    key = "dvr-macs"
    name = "DVR MACs registered"
    plane = "data"
    needs = (INT_FLOWS,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        dvr_hosts = sorted({a.host for a in f.agents if a.is_ovs and a.configuration.get("enable_distributed_routing")})
        want = len(dvr_hosts) - 1  # each host registers the DVR MACs of all the others
        macs: dict[str, tuple[set[str], set[str]]] = {}
        for host, flows in ev[INT_FLOWS].items():
            if (unusable := self.unusable(flows, f"{host} not probed")) is not None:
                return unusable
            assert isinstance(flows, list)
            macs[host] = dvr_macs(flows)
        problems = []
        for host, (own, remote) in macs.items():
            if not own:
                problems.append(f"{host} has no DVR MAC of its own in br-int (its OVS agent is not in DVR mode)")
            for other, (other_own, _) in macs.items():
                missing = other_own - remote if other != host else set()
                if missing:
                    problems.append(f"{host} has not registered {other}'s DVR MAC {', '.join(sorted(missing))}")
            if len(remote) < want:
                problems.append(f"{host} knows {len(remote)} of the {want} other DVR hosts' MACs")
        seen = "; ".join(f"{h}: own {', '.join(sorted(o)) or '-'}, {len(r)} remote" for h, (o, r) in macs.items())
        text = f"DVR hosts {', '.join(dvr_hosts)}; br-int {seen}"
        if problems:
            return self.fail(
                f"{text}: {'; '.join(problems)}",
                cause="DVR MACs not registered",
                catalogue=None,
                next_step="restart the OVS agent of the host that misses them (it fetches every DVR MAC at start)",
            )
        return self.ok(text)


def _ping_row(c: Check, res: object, what: str, *, cause: str, next_step: str) -> CheckResult:
    if (unusable := c.unusable(res, "not probed (no namespace to probe from)")) is not None:
        return unusable
    if isinstance(res, TcpConnectResult):
        text = f"{what}: {'connected in ' + str(res.seconds) + ' s' if res.connected else res.error}"
        good = res.connected
    else:
        assert isinstance(res, PingResponse)
        text, good = f"{what}: {ping_text(res)}", answered(res)
    if not good:
        return c.fail(text, cause=cause, catalogue=8, next_step=next_step)
    return c.ok(text)


@check
class DvrReachableFromRouter(RoutedCheck):
    key = "dvr-reachable-from-router"
    name = "reachable from the compute node's router"
    plane = "data"
    needs = (FROM_ROUTER,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        res = ev[FROM_ROUTER]
        srcs = list(f.router_port.ips) if f.router_port else []
        where = f"ping {f.fixed_ip} from {qrouter_ns(f)} on {f.compute}"
        if isinstance(res, PingResponse) and not answered(res) and any(not ingress_icmp_allowed(f, s) for s in srcs):
            return self.skipped(f"{where}: {ping_text(res)}; the security groups do not allow ICMP from the router")
        return _ping_row(
            self, res, where, cause="VM does not answer on its network",
            next_step="check the VM: is its interface up with the fixed IP (DHCP), and does its firewall allow ICMP?",
        )  # fmt: skip


@check
class DvrGatewayReachable(RoutedCheck):
    key = "dvr-external-gateway"
    name = "external gateway from the egress namespace"
    plane = "data"
    needs = (GATEWAY,)

    def applies(self, f: Facts) -> bool:
        return super().applies(f) and f.router is not None and f.router.has_gateway and (uses_fip(f) or l3_needed(f))

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        host, ns = egress(f)
        gw = f.external_subnet.gateway_ip if f.external_subnet else "?"
        return _ping_row(
            self, ev[GATEWAY], f"ping {gw} from {ns} on {host}", cause="external gateway unreachable",
            next_step=f"check the external network's bridge (br-ex and its NIC) on {host} and the upstream router {gw}",
        )  # fmt: skip


@check
class DvrDestination(RoutedCheck):
    key = "dvr-destination-reachable"
    name = "destination beyond the router"
    plane = "data"
    needs = (TO,)

    def applies(self, f: Facts) -> bool:
        return super().applies(f) and f.to is not None

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        host, ns = snat_host(f), snat_ns(f)
        assert f.to is not None
        where = f"{f.to.describe()} from {ns} on {host}" + (" (beyond the external network)" if uses_fip(f) else "")
        return _ping_row(
            self, ev[TO], where, cause="destination unreachable beyond the router",
            next_step=f"the path beyond the external gateway: upstream routes toward {f.to.address} and its firewall",
        )  # fmt: skip
