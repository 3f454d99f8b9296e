"""ML2/Linux bridge: the VM's path as the linuxbridge agent wires it, upstream first. Neutron's records of
the port and its agent; the agent's interface mappings; the tap in ``brq<net>`` and the network's device
(vxlan-<vni> or the physnet interface) there on every node; the port's iptables chains; the services
(DHCP, router, floating IP); the VXLAN forwarding entries l2population writes, then the tunnel; reachability;
last the proof, the VM's own packet hop by hop (lb_probe.py): without it the path is "not proven"."""

from __future__ import annotations

from .. import lb_checks, neutron_port, neutron_services, ovs_path, reach, vm_checks  # noqa: F401  (they register checks)
from ..backend import Backend
from ..lb_evidence import COLLECTORS
from ..lb_probe import COLLECTORS as PROBE
from ..registry import REGISTRY

CHAIN = REGISTRY.chain(
    Backend.LINUXBRIDGE,
    [
        "floating-ip-associated",
        "port-admin-state",
        "port-binding",
        "l2-agent-alive",
        "lb-interface-mappings",
        "lb-tap-in-bridge",
        "lb-segment-device",
        "port-status",
        "dhcp-server",
        "dns-servers",
        "security-groups",
        "lb-iptables-chains",
        "allowed-addresses",
        "router-interface",
        "router-gateway",
        "l3-agent-alive",
        "floating-ips",
        # where the VXLAN device sends (its FDB) comes before the underlay that carries it: without a flood
        # entry for the network node, the DHCP trace's broadcast leaves the uplink for the other VTEPs only,
        # which the tunnel path would read as encapsulated traffic lost on the way
        "lb-vxlan-fdb",
        "tunnel-path",
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
        "vm-own-packet",  # the proof: the VM's own packet, injected into brq, through and back to the tap
    ],
    collectors=COLLECTORS + PROBE,  # DHCP trace, the VM's frames and its own packet: on brq and the tap, not br-int
)
