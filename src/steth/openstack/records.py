"""What steth reads of Neutron's ports, networks, segments, subnets and agents, as plain records
built from SDK resources or recorded dicts (the adapter asks, these hold the answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of an SDK resource or of a recorded dict."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass
class SegmentInfo:
    network_type: str
    physical_network: str | None
    segmentation_id: int | None


@dataclass
class SubnetInfo:
    id: str
    name: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool
    allocation_pools: list[dict[str, str]] = field(default_factory=list)
    dns_nameservers: list[str] = field(default_factory=list)


@dataclass
class NetworkInfo:
    id: str
    name: str
    status: str
    mtu: int | None
    admin_state_up: bool
    segments: list[SegmentInfo]
    subnet_ids: list[str]
    subnets: list[SubnetInfo] = field(default_factory=list)

    @property
    def segment(self) -> SegmentInfo | None:
        """The first segment (the only one on a non-multi-segment network)."""
        return self.segments[0] if self.segments else None


@dataclass
class PortInfo:
    id: str
    name: str
    mac_address: str
    fixed_ips: list[dict[str, str]]
    network_id: str
    status: str
    binding_host: str | None
    vif_type: str | None
    vif_details: dict[str, Any]
    vnic_type: str | None
    device_id: str
    device_owner: str
    admin_state_up: bool
    security_group_ids: list[str] = field(default_factory=list)
    port_security_enabled: bool = True
    allowed_address_pairs: list[dict[str, str]] = field(default_factory=list)

    @property
    def ips(self) -> list[str]:
        return [ip["ip_address"] for ip in self.fixed_ips]

    @property
    def bound(self) -> bool:
        return self.vif_type not in (None, "", "unbound", "binding_failed")


@dataclass
class NeutronAgent:
    """One of Neutron's agents as its API lists them (not a steth agent: that is wire.models.AgentInfo)."""

    id: str
    agent_type: str
    binary: str
    host: str
    alive: bool
    admin_state_up: bool
    configuration: dict[str, Any]
    last_heartbeat: str | None = None  # as Neutron gives it (UTC, "2026-01-01T12:00:00" or with a space)

    @property
    def is_ovs(self) -> bool:
        return self.binary == "neutron-openvswitch-agent" or self.agent_type == "Open vSwitch agent"

    @property
    def is_l2(self) -> bool:
        """An agent that wires VM ports on its host (Open vSwitch or Linux bridge)."""
        return self.is_ovs or self.binary == "neutron-linuxbridge-agent" or self.agent_type == "Linux bridge agent"

    @property
    def bridge_mappings(self) -> dict[str, str]:
        return dict(self.configuration.get("bridge_mappings") or {})

    @property
    def tunnel_ip(self) -> str | None:
        return self.configuration.get("tunneling_ip")

    @property
    def tunnel_types(self) -> list[str]:
        return list(self.configuration.get("tunnel_types") or [])

    @property
    def integration_bridge(self) -> str | None:
        return self.configuration.get("integration_bridge")

    @property
    def datapath_type(self) -> str | None:
        return self.configuration.get("datapath_type")


def port_from_api(p: Any) -> PortInfo:
    return PortInfo(
        id=_get(p, "id"),
        name=_get(p, "name") or "",
        mac_address=(_get(p, "mac_address") or "").lower(),
        fixed_ips=list(_get(p, "fixed_ips") or []),
        network_id=_get(p, "network_id"),
        status=_get(p, "status") or "",
        binding_host=_get(p, "binding_host_id") or None,
        vif_type=_get(p, "binding_vif_type"),
        vif_details=dict(_get(p, "binding_vif_details") or {}),
        vnic_type=_get(p, "binding_vnic_type"),
        device_id=_get(p, "device_id") or "",
        device_owner=_get(p, "device_owner") or "",
        admin_state_up=bool(_get(p, "is_admin_state_up", True)),
        security_group_ids=list(_get(p, "security_group_ids") or []),
        port_security_enabled=_get(p, "is_port_security_enabled") is not False,
        allowed_address_pairs=list(_get(p, "allowed_address_pairs") or []),
    )


def network_from_api(n: Any) -> NetworkInfo:
    segments = []
    raw = _get(n, "segments")
    if raw:  # multi-segment networks list their segments; others carry provider:* attributes
        for s in raw:
            segments.append(
                SegmentInfo(
                    s.get("provider:network_type"),
                    s.get("provider:physical_network"),
                    s.get("provider:segmentation_id"),
                )
            )
    elif _get(n, "provider_network_type"):
        segments.append(
            SegmentInfo(
                _get(n, "provider_network_type"),
                _get(n, "provider_physical_network"),
                _get(n, "provider_segmentation_id"),
            )
        )
    return NetworkInfo(
        id=_get(n, "id"),
        name=_get(n, "name") or "",
        status=_get(n, "status") or "",
        mtu=_get(n, "mtu"),
        admin_state_up=bool(_get(n, "is_admin_state_up", True)),
        segments=segments,
        subnet_ids=list(_get(n, "subnet_ids") or []),
    )


def subnet_from_api(s: Any) -> SubnetInfo:
    return SubnetInfo(
        id=_get(s, "id"),
        name=_get(s, "name") or "",
        cidr=_get(s, "cidr"),
        ip_version=int(_get(s, "ip_version") or 4),
        gateway_ip=_get(s, "gateway_ip"),
        enable_dhcp=bool(_get(s, "is_dhcp_enabled", _get(s, "enable_dhcp", False))),
        allocation_pools=list(_get(s, "allocation_pools") or []),
        dns_nameservers=list(_get(s, "dns_nameservers") or []),
    )


def agent_from_api(a: Any) -> NeutronAgent:
    return NeutronAgent(
        id=_get(a, "id"),
        agent_type=_get(a, "agent_type") or "",
        binary=_get(a, "binary") or "",
        host=_get(a, "host") or "",
        alive=bool(_get(a, "is_alive", False)),
        admin_state_up=bool(_get(a, "is_admin_state_up", True)),
        configuration=dict(_get(a, "configuration") or {}),
        last_heartbeat=str(_get(a, "last_heartbeat_at") or "") or None,
    )
