"""Ports, networks, segments, subnets and agents from Neutron (and a server's ports from Nova)."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import re
from collections.abc import Iterator
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
from .options import selected
from .records import (  # noqa: F401  (the records are also this module's names)
    NetworkInfo,
    NeutronAgent,
    PortInfo,
    SegmentInfo,
    SubnetInfo,
    _get,
    agent_from_api,
    network_from_api,
    port_from_api,
    subnet_from_api,
)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
__all__ = [
    "MAC_RE",
    "UUID_RE",
    "NetworkInfo",
    "NeutronAgent",
    "OpenStack",
    "PortInfo",
    "SegmentInfo",
    "SubnetInfo",
    "agent_from_api",
    "connect",
    "map_error",
    "network_from_api",
    "port_from_api",
    "subnet_from_api",
]
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")


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


def connect(
    options: argparse.Namespace | None = None,
    cloud: str | None = None,
    config_files: list[str] | None = None,
    **kwargs: Any,
) -> OpenStack:
    """A connection from clouds.yaml, OS_* variables and the --os-* options given (see options.py).

    ``options`` is a parsed namespace; only its connection options are passed on, and only those
    given, so the cloud's own settings (e.g. auth_type none for a noauth Neutron) stay unless overridden.
    ``config_files`` replaces openstacksdk's clouds.yaml search path (steth.conf's [openstack] clouds_file)."""
    from openstack import config as os_config
    from openstack import connection

    given, auth = selected(options) if options is not None else (None, {})
    if auth:
        kwargs["auth"] = {**kwargs.get("auth", {}), **auth}
    with _api("connecting to OpenStack"):
        loader = os_config.OpenStackConfig(config_files=config_files, load_yaml_config=True, load_envvars=True)
        region = loader.get_one(cloud=cloud, argparse=given, **kwargs)
        conn = connection.Connection(config=region)
    return OpenStack(conn)


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

    def router_gateway_port(self, router_id: str) -> PortInfo | None:
        """The router's port on its external network (the qg- interface of a legacy router), or None."""
        with _api(f"gateway port of router {router_id}"):
            for p in self.conn.network.ports(device_id=router_id, device_owner="network:router_gateway"):
                return port_from_api(p)
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
