"""Does a port's set of security group rules allow a flow? (Neutron semantics, evaluated offline.)

Rules are allow-only and stateful: a flow is allowed when any rule of any of the
port's groups matches it. Neutron always lets DHCP, ARP and IPv6 neighbour
discovery through, whatever the rules say.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...openstack.l3 import RuleInfo, SecurityGroupInfo

PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmpv6": 58}


@dataclass(frozen=True)
class Flow:
    direction: str  # egress (from the VM) | ingress (to the VM)
    protocol: str  # icmp | tcp | udp
    remote: str  # the other end's address
    port: int | None = None  # destination port (tcp/udp)

    def describe(self) -> str:
        port = f" port {self.port}" if self.port is not None else ""
        way = "to" if self.direction == "egress" else "from"
        return f"{self.direction} {self.protocol}{port} {way} {self.remote}"


def _proto_matches(rule: str | None, proto: str) -> bool:
    if rule is None:
        return True
    want = PROTOCOL_NUMBERS.get(proto, proto)
    have = PROTOCOL_NUMBERS.get(rule, rule)
    return str(have) == str(want) or (proto == "icmp" and rule in ("icmp", "1"))


def rule_matches(rule: RuleInfo, flow: Flow) -> bool:
    remote = ipaddress.ip_address(flow.remote)
    if rule.direction != flow.direction:
        return False
    if rule.ethertype != ("IPv4" if remote.version == 4 else "IPv6"):
        return False
    if not _proto_matches(rule.protocol, flow.protocol):
        return False
    if rule.remote_group_id:  # members of a group: never a router, DHCP server or outside address
        return False
    if rule.remote_ip_prefix and remote not in ipaddress.ip_network(rule.remote_ip_prefix, strict=False):
        return False
    if flow.protocol in ("tcp", "udp") and rule.protocol is not None and rule.port_min is not None:
        if flow.port is None or not rule.port_min <= flow.port <= (rule.port_max or rule.port_min):
            return False
    return True


def allowing_rule(groups: list[SecurityGroupInfo], flow: Flow) -> tuple[SecurityGroupInfo, RuleInfo] | None:
    for g in groups:
        for r in g.rules:
            if rule_matches(r, flow):
                return g, r
    return None


def describe_groups(groups: list[SecurityGroupInfo], direction: str) -> str:
    rules = [f"{g.name or g.id[:8]}: {r.describe()}" for g in groups for r in g.rules if r.direction == direction]
    return "; ".join(rules) if rules else f"no {direction} rules at all"
