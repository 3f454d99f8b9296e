"""Everything Neutron knows about one VM port's path, gathered once (the control plane's evidence)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ...errors import OpenStackNotFound, UsageError
from ...openstack.adapter import UUID_RE, NetworkInfo, NeutronAgent, OpenStack, PortInfo, SegmentInfo, SubnetInfo
from ...openstack.l3 import FloatingIpInfo, RouterInfo, SecurityGroupInfo


@dataclass
class Target:
    """``--to ADDRESS[:PORT]``: ICMP to the address, or a TCP connection to the port."""

    address: str
    tcp_port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        host, port = text, None
        if text.count(":") == 1:  # IPv4:port (IPv6 addresses take no port here)
            host, _, p = text.partition(":")
            if not p.isdigit() or not 1 <= int(p) <= 65535:
                raise UsageError(f"--to {text}: port must be 1-65535", "give --to ADDRESS or --to IPV4:PORT")
            port = int(p)
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            raise UsageError(
                f"--to {text}: {host!r} is not an IP address",
                "give the address the VM should reach, e.g. --to 203.0.113.10 or 203.0.113.10:80",
            ) from None
        return cls(address, port)

    def describe(self) -> str:
        return f"{self.address}:{self.tcp_port} (TCP)" if self.tcp_port else f"{self.address} (ICMP)"


@dataclass
class Facts:
    ref: str
    port: PortInfo | None
    asked_fip: FloatingIpInfo | None = None  # the question was about a floating IP address
    network: NetworkInfo | None = None
    subnet: SubnetInfo | None = None
    agents: list[NeutronAgent] = field(default_factory=list)
    dhcp_agents: list[NeutronAgent] = field(default_factory=list)
    dhcp_ports: list[PortInfo] = field(default_factory=list)
    security_groups: list[SecurityGroupInfo] = field(default_factory=list)
    router: RouterInfo | None = None
    router_port: PortInfo | None = None
    l3_agents: list[NeutronAgent] = field(default_factory=list)
    floating_ips: list[FloatingIpInfo] = field(default_factory=list)  # associated with the port
    external_subnet: SubnetInfo | None = None
    external_network: NetworkInfo | None = None
    gateway_port: PortInfo | None = None  # the router's port on the external network (qg-)
    to: Target | None = None
    other_ports: list[str] = field(default_factory=list)  # a server's further ports, not examined

    def agents_on(self, host: str | None) -> list[NeutronAgent]:
        return [a for a in self.agents if host and a.host == host]

    def l2_agent(self, host: str | None) -> NeutronAgent | None:
        return next((a for a in self.agents_on(host) if a.is_l2), None)

    @property
    def fixed_ip(self) -> str | None:
        if self.port is None:
            return None
        for ip in self.port.fixed_ips:
            if self.subnet is None or ip.get("subnet_id") == self.subnet.id:
                return ip["ip_address"]
        return self.port.ips[0] if self.port.ips else None

    @property
    def dhcp_hosts(self) -> list[str]:
        return sorted({p.binding_host for p in self.dhcp_ports if p.binding_host})

    @property
    def l3_host(self) -> str | None:
        alive = [a.host for a in self.l3_agents if a.alive]
        hosts = alive or [a.host for a in self.l3_agents]
        return hosts[0] if hosts else None

    # --- for the checks of a port (they run only when the question resolved to one) ---
    @property
    def vm_port(self) -> PortInfo:
        if self.port is None:
            raise AssertionError("a port check ran without a port (its applies() lets it)")
        return self.port

    @property
    def vm_network(self) -> NetworkInfo:
        if self.network is None:
            raise AssertionError("a port check ran without the port's network")
        return self.network

    @property
    def segment(self) -> SegmentInfo | None:
        return self.network.segment if self.network else None

    @property
    def compute(self) -> str | None:
        """The host the port is bound to (where the VM runs)."""
        return self.port.binding_host if self.port else None

    @property
    def peers(self) -> list[str]:
        """The other hosts on the port's path: the DHCP servers' and the router's (network nodes)."""
        found = [h for h in [*self.dhcp_hosts, self.l3_host] if h and h != self.compute]
        return list(dict.fromkeys(found))


def resolve(cloud: OpenStack, ref: str) -> tuple[PortInfo | None, FloatingIpInfo | None, list[str]]:
    """VM|PORT|IP -> (port, floating IP asked about, other ports of the server)."""
    try:
        ipaddress.ip_address(ref)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip:
        fips = cloud.floating_ips(floating_ip_address=ref)
        if fips:
            fip = fips[0]
            port = cloud.find_port(fip.port_id) if fip.port_id else None
            return port, fip, []
        return cloud.find_port(ref), None, []
    if not UUID_RE.match(ref):
        named = cloud.ports_named(ref)
        if len(named) == 1:
            return named[0], None, []
        if len(named) > 1:
            raise UsageError(
                f"{len(named)} ports are named {ref}: {', '.join(p.id for p in named)}", "give the port ID"
            )
    ports = cloud.ports_of(ref)  # port ID/MAC, else a server name or ID through Nova
    compute = [p for p in ports if p.device_owner.startswith("compute:")] or ports
    return compute[0], None, [p.id for p in compute[1:]]


def gather(cloud: OpenStack, ref: str, to: Target | None = None) -> Facts:
    port, asked_fip, others = resolve(cloud, ref)
    facts = Facts(ref=ref, port=port, asked_fip=asked_fip, to=to, other_ports=others)
    facts.agents = cloud.agents()
    if port is None:
        return facts
    facts.network = cloud.network(port.network_id)
    if port.fixed_ips:
        sid = port.fixed_ips[0].get("subnet_id")
        facts.subnet = next((s for s in facts.network.subnets if s.id == sid), None)
    facts.dhcp_ports = cloud.dhcp_ports(port.network_id)
    try:
        facts.dhcp_agents = cloud.dhcp_agents(port.network_id)
    except OpenStackNotFound:
        facts.dhcp_agents = []
    if port.port_security_enabled and port.security_group_ids:
        facts.security_groups = cloud.security_groups(port.security_group_ids)
    if facts.subnet is not None:
        found = cloud.subnet_router(port.network_id, facts.subnet.id)
        if found:
            facts.router, facts.router_port = found
            try:
                facts.l3_agents = cloud.l3_agents(facts.router.id)
            except OpenStackNotFound:  # no l3_agent_scheduler extension (ML2/OVN routes in ovn-controller)
                facts.l3_agents = []
            if facts.router.gateway_network_id:
                ext = facts.external_network = cloud.network(facts.router.gateway_network_id)
                facts.gateway_port = cloud.router_gateway_port(facts.router.id)
                gw_ip = facts.router.gateway_ips[0] if facts.router.gateway_ips else None
                facts.external_subnet = next(
                    (s for s in ext.subnets if gw_ip and ipaddress.ip_address(gw_ip) in ipaddress.ip_network(s.cidr)),
                    ext.subnets[0] if ext.subnets else None,
                )
    facts.floating_ips = cloud.floating_ips(port_id=port.id)
    return facts
