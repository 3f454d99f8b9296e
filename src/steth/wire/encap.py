"""Bytes an overlay network's traffic gains on the underlay (one table for checks, doctor and the lab).

VXLAN over IPv4 adds outer Ethernet (14), IPv4 (20), UDP (8) and VXLAN (8) headers to the
inner IP packet: 50. GRE with a key: 42; Geneve with Neutron's options: 58. Over IPv6 the
outer IP header is 20 bytes longer. VLAN and flat networks add nothing to the MTU.
"""

from __future__ import annotations

OVERHEAD_IPV4 = {"vxlan": 50, "gre": 42, "geneve": 58}
UNTAGGED = {"vlan": 0, "flat": 0}
TUNNEL_TYPES = frozenset(OVERHEAD_IPV4)


def overhead(network_type: str, ip_version: int = 4) -> int:
    """Encapsulation overhead of a network type; KeyError for a type this table does not know."""
    if network_type in UNTAGGED:
        return 0
    return OVERHEAD_IPV4[network_type] + (20 if ip_version == 6 else 0)


def known_types() -> list[str]:
    return sorted([*OVERHEAD_IPV4, *UNTAGGED])
