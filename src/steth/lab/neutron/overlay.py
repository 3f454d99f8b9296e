"""What the Neutron lab's overlay looks like: networks, subnets, VMs (node, plugging), router, floating IPs
and the "internet" behind the external network. Pure data (like lab/topology.py for the underlay, after
mininet's Topo): `up` builds from it, faults and tests address its parts by name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...errors import UsageError
from ..topology import Topology

PHYSNET = "physnet1"
VLAN_RANGE = (100, 199)
VNI_RANGE = (1000, 1999)
EXT_PHYSNET = "extnet"
# the external network and the "internet" behind it (documentation ranges, never routed)
INTERNET_HOST = "203.0.113.10"
INTERNET_DNS = "203.0.113.53"
INTERNET_TCP_PORT = 80
INTERNET_NAME = "internet.steth"


@dataclass(frozen=True)
class OverlayNet:
    """A Neutron network with one IPv4 subnet."""

    key: str  # vlan | vxlan | ext: how the lab, its faults and tests name it
    network_type: str  # vlan | vxlan | flat
    physnet: str | None
    segment: int | None
    cidr: str
    dhcp: bool
    external: bool = False
    gateway: str | None = None  # None: Neutron's default (the first address)
    pool: tuple[str, str] | None = None

    def name(self, lab: str) -> str:
        if self.external:
            return f"{lab}-ext"
        return f"{lab}-{self.key}{self.segment}"

    def subnet_name(self, lab: str) -> str:
        return f"{lab}-{self.key}-subnet"


@dataclass(frozen=True)
class OverlayVM:
    """A VM: a namespace on a compute node, plugged into a network as nova/os-vif would."""

    name: str
    node: str
    network: str  # OverlayNet.key
    plug: str  # hybrid (tap -> qbr -> qvb/qvo -> br-int) | direct (tap on br-int)


@dataclass(frozen=True)
class Internet:
    """The far side of the external network: a namespace with a web server and a resolver."""

    namespace: str
    gateway: str  # its address on the external network (the subnet's gateway)
    host: str
    dns: str
    tcp_port: int = INTERNET_TCP_PORT
    dns_name: str = INTERNET_NAME


@dataclass(frozen=True)
class Overlay:
    lab: str
    networks: tuple[OverlayNet, ...]
    vms: tuple[OverlayVM, ...]
    router_interfaces: tuple[str, ...]  # tenant network keys attached to the router
    floating_ips: tuple[str, ...]  # VM names that get one
    internet: Internet
    security_group_ports: tuple[int, ...] = (22,)  # TCP ports open inbound (ICMP always)

    @property
    def router_name(self) -> str:
        return f"{self.lab}-router"

    @property
    def security_group_name(self) -> str:
        return f"{self.lab}-vm"

    @property
    def external(self) -> OverlayNet:
        return next(n for n in self.networks if n.external)

    @property
    def tenant(self) -> tuple[OverlayNet, ...]:
        return tuple(n for n in self.networks if not n.external)

    def network(self, key: str) -> OverlayNet:
        for n in self.networks:
            if n.key == key:
                return n
        raise UsageError(f"the lab has no network {key!r}", f"networks: {', '.join(n.key for n in self.networks)}")

    def vm(self, name: str) -> OverlayVM:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise UsageError(f"the lab has no VM {name!r}", f"VMs: {', '.join(v.name for v in self.vms)}")

    def vm_namespace(self, name: str) -> str:
        return f"steth-{self.lab}-{name}"


def vm_plan(topo: Topology, tenant: tuple[str, ...] = ("vlan", "vxlan")) -> tuple[OverlayVM, ...]:
    """One VM per tenant network on every compute node, alternating hybrid and direct plugging."""
    plan = []
    for node in topo.nodes:
        if node.role != "compute":
            continue
        for j, key in enumerate(tenant):
            plug = "hybrid" if (node.index + j) % 2 else "direct"
            plan.append(OverlayVM(f"vm{len(plan) + 1}", node.name, key, plug))
    return tuple(plan)


def build(topo: Topology) -> Overlay:
    """The lab's overlay: a VLAN and a VXLAN network with DHCP, a flat external network, a router between
    them, a VM per network per compute, a floating IP on vm1 and the internet namespace."""
    ext_cidr = "198.51.100.0/24"
    gateway = str(ipaddress.ip_network(ext_cidr).network_address + 1)
    networks = (
        OverlayNet("vlan", "vlan", PHYSNET, 101, "192.168.101.0/24", dhcp=True),
        OverlayNet("vxlan", "vxlan", None, 1001, "192.168.201.0/24", dhcp=True),
        OverlayNet(
            "ext", "flat", EXT_PHYSNET, None, ext_cidr, dhcp=False, external=True, gateway=gateway,
            pool=("198.51.100.10", "198.51.100.99"),
        ),
    )  # fmt: skip
    vms = vm_plan(topo)
    return Overlay(
        lab=topo.lab,
        networks=networks,
        vms=vms,
        router_interfaces=("vlan", "vxlan"),
        floating_ips=(vms[0].name,) if vms else (),
        internet=Internet(namespace=f"{topo.prefix}-inet", gateway=gateway, host=INTERNET_HOST, dns=INTERNET_DNS),
    )
