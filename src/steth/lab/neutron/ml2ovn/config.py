"""ML2/OVN configuration of the lab: neutron-server's [DEFAULT] and ML2 sections, the overlay (a Geneve
network instead of VXLAN, VMs plugged straight on br-int) and what each chassis' OVS is told."""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

from ...topology import Node, Topology
from ..ml2ovs.config import EXT_BRIDGE, PROVIDER_BRIDGE
from ..overlay import EXT_PHYSNET, PHYSNET, VLAN_RANGE, Overlay, OverlayNet, vm_plan
from ..overlay import build as build_ovs_overlay
from .central import Central, tcp_remotes

BACKEND = "ml2ovn"
ENCAP = "geneve"
GENEVE = OverlayNet("geneve", "geneve", None, 1001, "192.168.202.0/24", dhcp=True)
VNI_RANGE = (1, 4095)  # <= 4095: with vxlan chassis neutron refuses bigger ones (recipe pitfall O6)
BINARIES = (
    "ovsdb-server",
    "ovsdb-tool",
    "ovsdb-client",
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovn-northd",
    "ovn-controller",
    "ovn-sbctl",
    "ovn-nbctl",
    "busybox",
    "dnsmasq",
    "ping",
    "neutron-ovn-metadata-agent",
    "haproxy",
)
# [DEFAULT] of neutron.conf for ML2/OVN
SERVER_DEFAULTS = {
    "api_workers": 1,  # O1: with 0 the hash ring stays empty and no agent is ever listed
    "transport_url": "fake:/",  # O2: no RPC agents, no RabbitMQ
}


def overlay(topo: Topology) -> Overlay:
    """The ML2/OVS lab's overlay with the VXLAN network replaced by a Geneve one; every VM plugged direct
    (OVN's ACLs filter on br-int: there is no hybrid plugging)."""
    base = build_ovs_overlay(topo)
    networks = tuple(GENEVE if n.key == "vxlan" else n for n in base.networks)
    tenant = tuple(n.key for n in networks if not n.external)
    vms = tuple(dataclasses.replace(v, plug="direct") for v in vm_plan(topo, tenant))
    return dataclasses.replace(
        base, networks=networks, vms=vms, router_interfaces=tenant, floating_ips=(vms[0].name,) if vms else ()
    )


def ml2_section(central: Central, dns: str) -> dict[str, dict[str, Any]]:
    return {
        "ml2": {
            "type_drivers": "flat,vlan,geneve",
            "tenant_network_types": "geneve",
            "mechanism_drivers": "ovn",
            "extension_drivers": "port_security",
            "overlay_ip_version": 4,
        },
        "ml2_type_flat": {"flat_networks": f"{PHYSNET},{EXT_PHYSNET}"},
        "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
        "ml2_type_geneve": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}", "max_header_size": 38},
        "securitygroup": {"enable_security_group": "true"},
        "ovn": {
            # one NB member (the leader at creation): with several, neutron 21's start-up creation of the
            # neutron_pg_drop Port_Group fails ("The transaction failed because the IDL has been configured
            # to require a database lock but didn't get it yet") and every port create then fails with 500
            # "Port group neutron_pg_drop does not exist"
            "ovn_nb_connection": tcp_remotes(central.ports.nb[:1]),
            "ovn_sb_connection": tcp_remotes(central.ports.sb),
            "ovn_l3_scheduler": "leastloaded",
            # a metadata port (localport, device_owner network:distributed) per network and the DHCP route
            # 169.254.169.254/32 via its address; neutron-ovn-metadata-agent serves it (metadata.py)
            "ovn_metadata_enabled": "true",
            "enable_distributed_floating_ip": "false",
            "neutron_sync_mode": "log",
            "dns_servers": dns,  # O9: else the host's resolver is handed out by OVN's DHCP
        },
    }


def chassis_mac(lab: str, node: Node, physnet: str) -> str:
    """A locally administered MAC per lab, node and physnet (OVN's source MAC on VLAN/flat networks, O5)."""
    h = zlib.crc32(f"{lab}/{physnet}".encode())
    return f"0e:{(h >> 16) & 0xFF:02x}:{(h >> 8) & 0xFF:02x}:{h & 0xFF:02x}:00:{node.index + 1:02x}"


def bridge_mappings(node: Node) -> str:
    tenant = f"{PHYSNET}:{PROVIDER_BRIDGE}"
    return f"{tenant},{EXT_PHYSNET}:{EXT_BRIDGE}" if node.role == "network" else tenant


def cms_options(node: Node) -> str:
    """The network node is the only gateway chassis (routers' gateway ports, SNAT, centralised FIPs)."""
    return "enable-chassis-as-gw" if node.role == "network" else ""
