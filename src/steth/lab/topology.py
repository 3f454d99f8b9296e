"""What the lab looks like: nodes, physical networks, names and addresses. Pure data, no host access."""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import dataclass, field

from ..errors import UsageError

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
MAX_COMPUTES = 250
AGENT_PORT = 9698
FIRST_HOST = 10  # node i gets host address FIRST_HOST + i; .1 is the controller's uplink


@dataclass(frozen=True)
class PhysNet:
    """A physical network: one Linux bridge (switch) and one interface per node."""

    name: str  # management, tenant, storage
    short: str  # used in switch port names
    node_ifname: str  # interface name inside each node
    cidr: ipaddress.IPv4Network


@dataclass(frozen=True)
class Node:
    name: str  # network, compute-1, ...
    index: int  # 0 for the network node, i for compute-i
    short: str  # nw, c1, ... (switch port names)
    role: str  # network | compute


@dataclass(frozen=True)
class Topology:
    lab: str
    computes: int
    networks: tuple[PhysNet, ...]
    nodes: tuple[Node, ...] = field(default=())

    # --- names ---
    @property
    def prefix(self) -> str:
        return f"steth-{self.lab}"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}-sw"

    def node_ns(self, node: Node) -> str:
        return f"{self.prefix}-{node.name}"

    @property
    def uplink(self) -> str:
        """Root-namespace end of the management uplink (<= 15 bytes)."""
        return f"sth-{self.lab}"

    @staticmethod
    def bridge(net: PhysNet) -> str:
        return f"br-{net.short}"

    @staticmethod
    def switch_port(node: Node, net: PhysNet) -> str:
        return f"{node.short}-{net.short}"

    # --- addresses ---
    @property
    def management(self) -> PhysNet:
        return self.networks[0]

    def address(self, node: Node, net: PhysNet) -> ipaddress.IPv4Address:
        return net.cidr.network_address + FIRST_HOST + node.index

    def uplink_address(self) -> ipaddress.IPv4Address:
        return self.management.cidr.network_address + 1

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise UsageError(f"lab {self.lab} has no node {name!r}", f"nodes: {', '.join(n.name for n in self.nodes)}")


SLOTS = 16  # 16 slots of three /16s: 10.200.0.0 - 10.247.255.255


def cidr_slot(slot: int) -> tuple[str, str, str]:
    base = 200 + (slot % SLOTS) * 3
    return f"10.{base}.0.0/16", f"10.{base + 1}.0.0/16", f"10.{base + 2}.0.0/16"


def default_cidrs(lab: str) -> tuple[str, str, str]:
    """Three /16s from 10.200-10.247, the slot chosen by the lab name."""
    return cidr_slot(zlib.crc32(lab.encode()))


def free_cidrs(lab: str, used: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> tuple[str, str, str]:
    """The lab name's slot, or the next one that overlaps nothing in ``used`` (other labs, the host)."""
    first = zlib.crc32(lab.encode())
    for i in range(SLOTS):
        cidrs = cidr_slot(first + i)
        nets = [ipaddress.ip_network(c) for c in cidrs]
        if not any(n.overlaps(u) for n in nets for u in used if u.version == 4 and u.prefixlen > 0):
            return cidrs
    raise UsageError(
        "every lab address slot in 10.200.0.0-10.247.255.255 overlaps an address in use",
        "remove other labs (`steth lab down --name NAME`)",
    )


def build(lab: str = "lab", computes: int = 2, cidrs: tuple[str, str, str] | None = None) -> Topology:
    """The lab's topology; UsageError for a bad name or size."""
    if not NAME_RE.match(lab):
        raise UsageError(f"lab name {lab!r} must be 1-8 of [a-z0-9], starting with a letter")
    if not 1 <= computes <= MAX_COMPUTES:
        raise UsageError(f"--computes {computes} is out of range 1-{MAX_COMPUTES}")
    mgmt, tenant, storage = (ipaddress.IPv4Network(c) for c in (cidrs or default_cidrs(lab)))
    networks = (
        PhysNet("management", "mgmt", "eth0", mgmt),
        PhysNet("tenant", "tenant", "eth1", tenant),
        PhysNet("storage", "stor", "eth2", storage),
    )
    for net in networks:
        if net.cidr.num_addresses < FIRST_HOST + computes + 2:
            raise UsageError(f"{net.name} CIDR {net.cidr} is too small for {computes} computes")
    nodes = (
        Node("network", 0, "nw", "network"),
        *(Node(f"compute-{i}", i, f"c{i}", "compute") for i in range(1, computes + 1)),
    )
    return Topology(lab=lab, computes=computes, networks=networks, nodes=nodes)
