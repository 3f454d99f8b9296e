"""Routers, floating IPs and security groups as steth sees them (plain dataclasses from SDK resources)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass
class RouterInfo:
    id: str
    name: str
    status: str
    admin_state_up: bool
    gateway_network_id: str | None  # external_gateway_info.network_id
    gateway_ips: list[str]  # the router's addresses on the external network
    enable_snat: bool
    distributed: bool = False
    ha: bool = False

    @property
    def has_gateway(self) -> bool:
        return bool(self.gateway_network_id)


@dataclass
class FloatingIpInfo:
    id: str
    address: str
    network_id: str
    port_id: str | None
    fixed_ip: str | None
    router_id: str | None
    status: str


@dataclass
class RuleInfo:
    id: str
    direction: str  # ingress | egress
    ethertype: str  # IPv4 | IPv6
    protocol: str | None  # None = any; "icmp", "tcp", "udp" or a number as text
    port_min: int | None
    port_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None

    def describe(self) -> str:
        proto = self.protocol or "any"
        ports = ""
        if self.port_min is not None:
            ports = (
                f" {self.port_min}" if self.port_max in (None, self.port_min) else f" {self.port_min}-{self.port_max}"
            )
        remote = (
            f" from/to group {self.remote_group_id[:8]}"
            if self.remote_group_id
            else f" {self.remote_ip_prefix}"
            if self.remote_ip_prefix
            else " any address"
        )
        return f"{self.direction} {self.ethertype} {proto}{ports}{remote}"


@dataclass
class SecurityGroupInfo:
    id: str
    name: str
    rules: list[RuleInfo] = field(default_factory=list)


def router_from_api(r: Any) -> RouterInfo:
    gw = _get(r, "external_gateway_info") or {}
    ips = [f.get("ip_address") for f in (gw.get("external_fixed_ips") or []) if f.get("ip_address")]
    return RouterInfo(
        id=_get(r, "id"),
        name=_get(r, "name") or "",
        status=_get(r, "status") or "",
        admin_state_up=bool(_get(r, "is_admin_state_up", True)),
        gateway_network_id=gw.get("network_id"),
        gateway_ips=ips,
        enable_snat=bool(gw.get("enable_snat", True)) if gw else False,
        distributed=bool(_get(r, "is_distributed", False)),
        ha=bool(_get(r, "is_ha", False)),
    )


def floating_ip_from_api(f: Any) -> FloatingIpInfo:
    return FloatingIpInfo(
        id=_get(f, "id"),
        address=_get(f, "floating_ip_address") or "",
        network_id=_get(f, "floating_network_id") or "",
        port_id=_get(f, "port_id") or None,
        fixed_ip=_get(f, "fixed_ip_address") or None,
        router_id=_get(f, "router_id") or None,
        status=_get(f, "status") or "",
    )


def rule_from_api(r: Any) -> RuleInfo:
    proto = _get(r, "protocol")
    return RuleInfo(
        id=_get(r, "id") or "",
        direction=_get(r, "direction") or "",
        ethertype=_get(r, "ether_type", _get(r, "ethertype")) or "IPv4",
        protocol=str(proto).lower() if proto not in (None, "", "any") else None,
        port_min=_get(r, "port_range_min"),
        port_max=_get(r, "port_range_max"),
        remote_ip_prefix=_get(r, "remote_ip_prefix") or None,
        remote_group_id=_get(r, "remote_group_id") or None,
    )


def security_group_from_api(g: Any) -> SecurityGroupInfo:
    return SecurityGroupInfo(
        id=_get(g, "id"),
        name=_get(g, "name") or "",
        rules=[rule_from_api(r) for r in (_get(g, "security_group_rules") or [])],
    )
