"""ML2/Open vSwitch with distributed routers (DVR): the VM's path, upstream first.

The switching part is the OVS chain's (same checks). The routing part is DVR's own (dvr_checks.py):
the L3 agents' modes and liveness, the router on the VM's own compute node (its first hop), then a
floating IP's ``fip-`` namespace and ``fg-`` port on that node, or the ``snat-`` namespace of the SNAT
node for the rest, the NAT rules where they live, the DVR MACs, and what the egress namespace reaches.
Last, the proof: the VM's own packet along DVR's hops (dvr_probe.py, dvr_path.py); without it the VM is
"not proven", never healthy.
"""

from __future__ import annotations

from .. import dvr_checks, dvr_path, dvr_reach, neutron_port, neutron_services, ovs_path, reach  # noqa: F401 (they register checks)
from ..backend import Backend
from ..dvr_probe import VM_PROBE_DVR
from ..registry import REGISTRY

CHAIN = REGISTRY.chain(
    Backend.OVS_DVR,
    [
        "floating-ip-associated",
        "port-admin-state",
        "port-binding",
        "l2-agent-alive",
        "vm-port-on-br-int",
        "port-status",
        "dhcp-server",
        "dns-servers",
        "security-groups",
        "allowed-addresses",
        "router-interface",
        "router-gateway",
        "dvr-l3-agent-modes",
        "dvr-l3-agents-alive",
        "floating-ips",
        "underlay-path",
        "tunnel-path",
        "vlan-trunk",
        "mtu",
        "dhcp-exchange",
        "vm-source-addresses",
        "reachable-from-dhcp",
        "dvr-local-router",
        "dvr-reachable-from-router",
        "dvr-fip-namespace",
        "dvr-fip-gateway-port",
        "dvr-snat-namespace",
        "dvr-nat-rules",
        "dvr-macs",
        "dvr-external-gateway",
        "dvr-destination-reachable",
        "dvr-own-packet",
    ],
    collectors=[VM_PROBE_DVR],
)
