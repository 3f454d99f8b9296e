"""ML2/OVN: the VM's path as OVN wires it, upstream first. Neutron's records, then OVN's control plane
(northd, the port's LSP, the chassis, the binding), DHCP from OVN, security groups, the router's gateway
chassis and the floating IP's NAT row (ovn_checks.py, on one read of NB and SB)."""

from __future__ import annotations

from .. import neutron_port, ovn_checks, ovn_metadata  # noqa: F401  (they register the checks)
from ..backend import Backend
from ..registry import REGISTRY

CHAIN = REGISTRY.chain(
    Backend.OVN,
    [
        "floating-ip-associated",
        "port-admin-state",
        "ovn-northd",
        "ovn-lsp",
        "ovn-chassis-alive",
        "ovn-port-binding",
        "port-status",
        "ovn-tunnels",
        "ovn-dhcp-options",
        "security-groups",
        "ovn-gateway",
        "ovn-floating-ip-nat",
        "ovn-metadata",
    ],
)
