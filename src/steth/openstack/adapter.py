"""Ports, networks, segments, subnets and agents from Neutron (and a server's ports from Nova)."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import OpenStackError, OpenStackNotFound, OpenStackUnreachable
from .l3 import (
    FloatingIpInfo,
    RouterInfo,
    SecurityGroupInfo,
    floating_ip_from_api,
    router_from_api,
    security_group_from_api,
)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")


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


def map_error(exc: BaseException, what: str) -> OpenStackError:
    """openstacksdk / keystoneauth exception -> OpenStackError with a hint."""
    from keystoneauth1 import exceptions as ks
    from openstack import exceptions as sdk

    detail = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (sdk.NotFoundException, sdk.ResourceNotFound)):
        return OpenStackNotFound(f"{what}: not found ({detail})", "check the ID, MAC or address, and the project")
    if isinstance(exc, (ks.ConnectFailure, ks.ConnectionError, ks.ConnectTimeout)):
        return OpenStackUnreachable(
            f"{what}: cannot reach OpenStack: {detail}",
            "is the API up and its endpoint (auth_url / network_endpoint_override) right?",
        )
    if isinstance(exc, (sdk.ConfigException, ks.MissingRequiredOptions, ks.NoMatchingPlugin)):
        return OpenStackError(f"{what}: OpenStack client configuration: {detail}")
    if isinstance(exc, (ks.Unauthorized, ks.AuthorizationFailure)) or (
        isinstance(exc, sdk.HttpException) and getattr(exc, "status_code", None) in (401, 403)
    ):
        return OpenStackError(
            f"{what}: not authorised: {detail}", "check the credentials; network agents and bindings need an admin role"
        )
    if isinstance(exc, (sdk.EndpointNotFound, ks.EndpointNotFound)):
        return OpenStackError(f"{what}: no endpoint: {detail}", "is the service in the catalog for this region?")
    if isinstance(exc, (sdk.SDKException, ks.ClientException)):
        return OpenStackError(f"{what}: {detail}")
    return OpenStackError(f"{what}: {type(exc).__name__}: {detail}")


@contextlib.contextmanager
def _api(what: str) -> Iterator[None]:
    from keystoneauth1 import exceptions as ks
    from openstack import exceptions as sdk

    try:
        yield
    except (sdk.SDKException, ks.ClientException) as exc:
        raise map_error(exc, what) from exc


def connect(cloud: str | None = None, options: argparse.Namespace | None = None, **kwargs: Any) -> OpenStack:
    """A connection from clouds.yaml / OS_* variables / --os-* options (``options`` from argparse)."""
    from openstack import config as os_config
    from openstack import connection

    if options is not None:
        options = argparse.Namespace(**vars(options))
        # keystoneauth's argparse default auth type is "password"; unless given explicitly it must not
        # override the cloud's own auth_type (e.g. "none" for a noauth Neutron)
        if getattr(options, "os_auth_type", None) == "password" and not _given("--os-auth-type"):
            options.os_auth_type = None
    with _api("connecting to OpenStack"):
        region = os_config.OpenStackConfig(load_yaml_config=True, load_envvars=True).get_one(
            cloud=cloud, argparse=options, **kwargs
        )
        conn = connection.Connection(config=region)
    return OpenStack(conn)


def _given(flag: str) -> bool:
    import os
    import sys

    return any(a == flag or a.startswith(flag + "=") for a in sys.argv[1:]) or bool(os.environ.get("OS_AUTH_TYPE"))


def register_options(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> None:
    """Add openstacksdk's --os-cloud and --os-* auth options to ``parser``."""
    import openstack.config

    # only --os-auth-type matters here (it selects the auth plugin's options); with --os-cloud the SDK
    # would read the cloud while building the parser and fail there on an unknown cloud, unmapped
    argv = list(argv or [])
    keep = []
    for i, a in enumerate(argv):
        if a.startswith("--os-auth-type="):
            keep.append(a)
        elif a == "--os-auth-type" and i + 1 < len(argv):
            keep += [a, argv[i + 1]]
    openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=True).register_argparse_arguments(
        parser, keep, service_keys=["network"]
    )


class OpenStack:
    """The questions steth asks OpenStack; every answer is one of the dataclasses above."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    # --- ports ---
    def find_port(self, ref: str) -> PortInfo:
        """A port by ID, MAC address or fixed IP address."""
        net = self.conn.network
        with _api(f"port {ref}"):
            if UUID_RE.match(ref):
                return port_from_api(net.get_port(ref))
            if MAC_RE.match(ref):
                found = list(net.ports(mac_address=ref.lower().replace("-", ":")))
            else:
                try:
                    ipaddress.ip_address(ref)
                except ValueError:
                    raise OpenStackNotFound(
                        f"{ref!r} is not a port ID, MAC address or IP address",
                        "give a port UUID, a MAC like fa:16:3e:00:00:01 or a fixed IP",
                    ) from None
                found = list(net.ports(fixed_ips=f"ip_address={ref}"))
        if not found:
            raise OpenStackNotFound(
                f"no port with {'MAC' if MAC_RE.match(ref) else 'fixed IP'} {ref}",
                "check the address and the project (an admin sees every project's ports)",
            )
        if len(found) > 1:
            ids = ", ".join(p.id for p in found)
            raise OpenStackError(f"{len(found)} ports match {ref}: {ids}", "use the port ID")
        return port_from_api(found[0])

    def server_ports(self, server: str) -> list[PortInfo]:
        """The ports of a server (by name or ID), found through their device_id."""
        with _api(f"server {server}"):
            srv = self.conn.compute.find_server(server, ignore_missing=False)
            ports = [port_from_api(p) for p in self.conn.network.ports(device_id=srv.id)]
        if not ports:
            raise OpenStackNotFound(f"server {server} has no ports")
        return ports

    def ports_of(self, ref: str) -> list[PortInfo]:
        """A port (ID, MAC, IP) or, when no port matches an ID or name, a server's ports."""
        try:
            return [self.find_port(ref)]
        except OpenStackNotFound:
            if MAC_RE.match(ref):
                raise
            try:
                ipaddress.ip_address(ref)
                raise
            except ValueError:
                pass
        try:
            return self.server_ports(ref)
        except OpenStackNotFound:
            raise OpenStackNotFound(
                f"no port and no server {ref}", "give a port ID, MAC or fixed IP, or a server name or ID"
            ) from None
        except OpenStackError as exc:
            raise OpenStackNotFound(
                f"no port {ref}, and looking for a server of that name failed: {exc.message}",
                "give a port ID, MAC or fixed IP (is Nova reachable for server names?)",
            ) from None

    # --- networks ---
    def network(self, network_id: str, with_subnets: bool = True) -> NetworkInfo:
        with _api(f"network {network_id}"):
            info = network_from_api(self.conn.network.get_network(network_id))
            if with_subnets:
                info.subnets = [subnet_from_api(s) for s in self.conn.network.subnets(network_id=network_id)]
        return info

    def dhcp_ports(self, network_id: str) -> list[PortInfo]:
        """The network's DHCP ports (one per DHCP agent hosting it; their IPs are dnsmasq's server ids)."""
        with _api(f"DHCP ports of network {network_id}"):
            return [
                port_from_api(p) for p in self.conn.network.ports(network_id=network_id, device_owner="network:dhcp")
            ]

    # --- agents ---
    def agents(self, host: str | None = None, agent_type: str | None = None) -> list[NeutronAgent]:
        query = {k: v for k, v in (("host", host), ("agent_type", agent_type)) if v}
        with _api("network agents"):
            return [agent_from_api(a) for a in self.conn.network.agents(**query)]

    def vlan_ranges(self) -> dict[str, list[int]] | None:
        """physnet -> VLANs of Neutron's VLAN segment ranges (the network-segment-range extension shows
        ml2's network_vlan_ranges); None when the extension is not enabled."""
        from openstack import exceptions as sdk

        ranges: dict[str, set[int]] = {}
        try:
            with _api("network segment ranges"):
                found = list(self.conn.network.network_segment_ranges(network_type="vlan"))
        except OpenStackNotFound:
            return None
        except OpenStackError as exc:
            if isinstance(exc.__cause__, sdk.HttpException) and getattr(exc.__cause__, "status_code", None) == 404:
                return None
            raise
        for r in found:
            physnet, lo, hi = _get(r, "physical_network"), _get(r, "minimum"), _get(r, "maximum")
            if physnet and lo and hi:
                ranges.setdefault(physnet, set()).update(range(int(lo), int(hi) + 1))
        return {k: sorted(v) for k, v in ranges.items()}

    def dhcp_agents(self, network_id: str) -> list[NeutronAgent]:
        """DHCP agents hosting a network (each with whether it is alive)."""
        with _api(f"DHCP agents of network {network_id}"):
            return [agent_from_api(a) for a in self.conn.network.network_hosting_dhcp_agents(network_id)]

    def l2_agent(self, host: str) -> NeutronAgent | None:
        """The Open vSwitch agent of a host (None when there is none)."""
        for a in self.agents(host=host):
            if a.is_ovs:
                return a
        return None

    # --- by name, routers, floating IPs, security groups (doctor) ---
    def ports_named(self, name: str) -> list[PortInfo]:
        with _api(f"ports named {name}"):
            return [port_from_api(p) for p in self.conn.network.ports(name=name)]

    def subnet_router(self, network_id: str, subnet_id: str) -> tuple[RouterInfo, PortInfo] | None:
        """The router with an interface on the subnet (and that interface port), or None."""
        with _api(f"router interfaces on network {network_id}"):
            for p in self.conn.network.ports(network_id=network_id):
                owner = _get(p, "device_owner") or ""
                if (
                    not owner.startswith("network:router_interface")
                    and owner != "network:ha_router_replicated_interface"
                ):
                    continue
                if any(ip.get("subnet_id") == subnet_id for ip in (_get(p, "fixed_ips") or [])):
                    return router_from_api(self.conn.network.get_router(_get(p, "device_id"))), port_from_api(p)
        return None

    def l3_agents(self, router_id: str) -> list[NeutronAgent]:
        with _api(f"L3 agents of router {router_id}"):
            return [agent_from_api(a) for a in self.conn.network.routers_hosting_l3_agents(router_id)]

    def floating_ips(self, **query: Any) -> list[FloatingIpInfo]:
        """Floating IPs matching ``query``; [] on a cloud without the L3 extension (404)."""
        try:
            with _api("floating IPs"):
                return [floating_ip_from_api(f) for f in self.conn.network.ips(**query)]
        except OpenStackNotFound:
            return []

    def security_groups(self, ids: list[str]) -> list[SecurityGroupInfo]:
        with _api("security groups"):
            return [security_group_from_api(self.conn.network.get_security_group(i)) for i in ids]
