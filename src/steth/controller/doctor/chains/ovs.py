"""ML2/Open vSwitch with agents and routers on network nodes: the VM's path, upstream first.

Neutron's records of the port, its agent and the services come before what the agents see,
except where a record is a symptom: a port's status DOWN is what Neutron shows for many
breaks further down (unplugged VIF, dead VLAN), so it comes after the br-int port.
"""

from __future__ import annotations

from .. import neutron_port, neutron_services, ovs_path, ovs_ports, reach, vm_checks  # noqa: F401  (they register the checks)
from ..backend import Backend
from ..registry import REGISTRY

CHAIN = REGISTRY.chain(
    Backend.OVS,
    [
        "floating-ip-associated",
        "port-admin-state",
        "port-binding",
        "l2-agent-alive",
        "vm-port-on-br-int",
        "network-ports-on-br-int",
        "underlay-ports",
        "port-status",
        "dhcp-server",
        "dns-servers",
        "security-groups",
        "allowed-addresses",
        "router-interface",
        "router-gateway",
        "l3-agent-alive",
        "floating-ips",
        "underlay-path",
        "tunnel-path",
        "vlan-trunk",
        "tunnel-flood-flows",
        "mtu",
        "dhcp-exchange",
        "vm-source-addresses",
        "reachable-from-dhcp",
        "router-namespace",
        "reachable-from-router",
        "external-gateway-reachable",
        "nat-rules",
        "destination-reachable",
        "dns-servers-reachable",
        "vm-own-packet",
    ],
)
