"""ML2/OVN: the VM's path as OVN wires it, upstream first. Neutron's records, then OVN's control plane
(northd, the port's LSP, the chassis, the binding), DHCP from OVN, security groups, the router's gateway
chassis and the floating IP's NAT row (ovn_checks.py, on one read of NB and SB); then the data plane
(ovn_dpchecks.py): bridge mappings, MTU with Geneve's overhead, DHCP from ovn-controller, and the proof,
the VM's own packet captured at every hop OVN uses. The metadata path (ovn_metadata.py) closes the control
plane."""

from __future__ import annotations

from .. import neutron_port, ovn_checks, ovn_dpchecks, ovn_metadata  # noqa: F401  (they register the checks)
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
        "ovn-bridge-mappings",
        "ovn-mtu",
        "ovn-dhcp-exchange",
        "ovn-vm-own-packet",
    ],
)
