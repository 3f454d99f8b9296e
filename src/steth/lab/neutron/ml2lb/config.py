"""ML2/Linux bridge configuration of the lab: neutron-server's ML2 section, every agent's files, the overlay
(VXLAN tenant networks, the flat external network) and the ebtables shim the agents need on this kernel.

Recipe and pitfalls: shared/reference/ovn-linuxbridge-lab (L1-L6): the experimental flag (L1), agents run
with ``ip netns exec`` (L2), a non-empty root_helper (L3), compute taps enslaved by the VIF plugging (L4,
plug.py), the ebtables-nft shim (L5), no VLAN networks without 8021q (L6, :func:`refuse_vlan`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ....errors import LabError
from ...topology import Node, Topology
from ..ml2ovs.config import L3_LAUNCHER
from ..overlay import EXT_PHYSNET, PHYSNET, VLAN_RANGE, VNI_RANGE, Overlay, OverlayNet, vm_plan
from ..overlay import build as build_ovs_overlay
from ..services import NEUTRON_PATH, Services, ini

BACKEND = "ml2lb"
VXLAN_PORT = 8472  # the Linux kernel's (and the linuxbridge agent's) default VXLAN port
VLAN_MODULE_PATHS = ("/proc/net/vlan", "/sys/module/8021q")
BINARIES = (
    "neutron-linuxbridge-agent",
    "neutron-dhcp-agent",
    "neutron-l3-agent",
    "conntrack",
    "dnsmasq",
    "busybox",
    "ebtables",
    "iptables",
    "ip",
    "ping",
)
# neutron's privsep contexts (neutron/privileged/__init__.py): the default one, and those of the link,
# namespace, dhcp_release and conntrack commands
PRIVSEP_SECTIONS = ("privsep", "privsep_link", "privsep_namespace", "privsep_dhcp_release", "privsep_conntrack")
# Two VXLAN tenant networks instead of the ML2/OVS lab's VLAN + VXLAN (no 8021q here, L6)
VXLAN_A = OverlayNet("vxlan", "vxlan", None, 1001, "192.168.201.0/24", dhcp=True)
VXLAN_B = OverlayNet("vxlan2", "vxlan", None, 1002, "192.168.202.0/24", dhcp=True)

# L5: ebtables-nft 1.8.9 cannot delete a rule with --among-src on this kernel ("RULE_DELETE failed (Invalid
# argument)", exit 4) and neutron's arp_protect retries exit 4 forever: the agent loop hangs at the first
# re-processing of a port. First in the agents' PATH, this turns such a delete into a delete by rule number.
EBTABLES_SHIM = """#!/bin/bash
# steth lab: ebtables shim for the linuxbridge agent (pitfall L5), removed with the lab
EBT=/usr/sbin/ebtables
args=("$@"); table=filter; chain=""; rule=(); conc=(); i=0; n=${#args[@]}
while [ $i -lt $n ]; do
    case ${args[$i]} in
        -t) table=${args[$((i+1))]}; i=$((i+2)) ;;
        --concurrent) conc=(--concurrent); i=$((i+1)) ;;
        -D) chain=${args[$((i+1))]}; rule=("${args[@]:$((i+2))}"); break ;;
        *) i=$((i+1)) ;;
    esac
done
if [ -n "$chain" ] && [[ " ${rule[*]} " == *" --among-src "* ]]; then
    want="${rule[*]}"
    num=$($EBT -t "$table" "${conc[@]}" -L "$chain" --Ln 2>/dev/null | awk -v w="$want" '
        $1 ~ /^[0-9]+$/ { n = $1; $1 = ""; sub(/^ +/, ""); if ($0 == w) { print n; exit } }')
    [ -n "$num" ] || exit 0
    exec $EBT -t "$table" "${conc[@]}" -D "$chain" "$num"
fi
exec $EBT "$@"
"""


def vlan_supported() -> bool:
    """Can this kernel make VLAN sub-interfaces (8021q)? The linuxbridge agent needs them for VLAN networks."""
    return any(os.path.exists(p) for p in VLAN_MODULE_PATHS)


def refuse_vlan(overlay: Overlay, supported: bool) -> None:
    """LabError when the plan has a VLAN network and the kernel cannot carry it (pitfall L6)."""
    vlans = [n.key for n in overlay.networks if n.network_type == "vlan"]
    if vlans and not supported:
        raise LabError(
            f"the Linux bridge lab cannot build VLAN network(s) {', '.join(vlans)}: this kernel has no 8021q "
            "(the linuxbridge agent's `ip link add ... type vlan` fails with 'Operation not supported' and one "
            "VLAN port stops the agent's whole loop on its node)",
            "use VXLAN or flat networks with --backend linuxbridge",
        )


def overlay(topo: Topology) -> Overlay:
    """The ML2/OVS lab's overlay with two VXLAN tenant networks (no VLAN), every VM plugged as os-vif does
    for Linux bridge (a tap in brq<net>: plug 'direct')."""
    base = build_ovs_overlay(topo)
    networks = (VXLAN_A, VXLAN_B, base.external)
    tenant = tuple(n.key for n in networks if not n.external)
    vms = tuple(dataclasses.replace(v, plug="direct") for v in vm_plan(topo, tenant))
    return dataclasses.replace(
        base, networks=networks, vms=vms, router_interfaces=tenant, floating_ips=(vms[0].name,) if vms else ()
    )


def ml2_section() -> dict[str, dict[str, Any]]:
    return {
        "ml2": {
            "type_drivers": "flat,vlan,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": "linuxbridge,l2population",
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": f"{PHYSNET},{EXT_PHYSNET}"},
        "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
        "ml2_type_vxlan": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}"},
        # L1: neutron 21 refuses the deprecated driver otherwise ("Feature 'linuxbridge' is experimental")
        "experimental": {"linuxbridge": "true"},
    }


def local_ip(topo: Topology, node: Node) -> str:
    """The node's VXLAN endpoint: its own address on the tenant network (eth1)."""
    return str(topo.address(node, topo.networks[1]))


def interface_mappings(topo: Topology, node: Node, ext_ifname: str) -> str:
    """physnet1 on the tenant trunk everywhere; the external network's interface on the network node."""
    tenant = f"{PHYSNET}:{topo.networks[1].node_ifname}"
    return f"{tenant},{EXT_PHYSNET}:{ext_ifname}" if node.role == "network" else tenant


def agent_path(svc: Services) -> str:
    """PATH of every agent: the lab's bin (the ebtables shim) first."""
    return f"{svc.path('bin')}:{NEUTRON_PATH}"


def write_agent_configs(svc: Services, topo: Topology, ext_ifname: str) -> None:
    """agent-common.conf, dhcp_agent.ini, l3_agent.ini, the L3 launcher, the ebtables shim and one
    host-<node>.conf per node."""
    os.makedirs(svc.path("bin"), exist_ok=True)
    shim = svc.write(svc.path("bin", "ebtables"), EBTABLES_SHIM)
    os.chmod(shim, 0o755)
    common: dict[str, dict[str, Any]] = {
        "DEFAULT": {"transport_url": svc.amqp_url(), "debug": "false"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        # L3: non-empty, else oslo.privsep falls back to `sudo privsep-helper`
        "agent": {"report_interval": 5, "root_helper": "env"},
        # one worker thread per privsep daemon: with two, two concurrent calls of the DHCP agent (it sets
        # up its networks in parallel) made the daemon fail ("privsep log: greenlet.error: cannot switch
        # to a different thread" in eventlet's semaphore) and never answer; the agent then hung for good
        # and the VMs' ports never became ACTIVE (no DHCP provisioning block released)
        **{section: {"thread_pool_size": 1} for section in PRIVSEP_SECTIONS},
    }
    svc.write(svc.conf("dnsmasq.conf"), "user=root\n")  # see ml2ovs/config.py: 0700 lab directory
    dhcp: dict[str, dict[str, Any]] = {
        "DEFAULT": {
            "interface_driver": "linuxbridge",
            "dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
            "enable_isolated_metadata": "false",
            "force_metadata": "false",
            "resync_interval": 5,
            "dnsmasq_config_file": svc.conf("dnsmasq.conf"),
            "dnsmasq_base_log_dir": svc.path("logs", "dnsmasq"),
        }
    }
    l3: dict[str, dict[str, Any]] = {
        "DEFAULT": {"interface_driver": "linuxbridge", "agent_mode": "legacy", "enable_metadata_proxy": "false"}
    }
    svc.write(svc.conf("agent-common.conf"), ini(common))
    svc.write(svc.conf("dhcp_agent.ini"), ini(dhcp))
    svc.write(svc.conf("l3_agent.ini"), ini(l3))
    svc.write(svc.conf("neutron-l3-agent.py"), L3_LAUNCHER)
    for node in topo.nodes:
        host: dict[str, dict[str, Any]] = {
            "DEFAULT": {"host": node.name, "state_path": svc.path(f"state-{node.name}")},
            "oslo_concurrency": {"lock_path": svc.path(f"state-{node.name}", "lock")},
            "linux_bridge": {"physical_interface_mappings": interface_mappings(topo, node, ext_ifname)},
            "vxlan": {
                "enable_vxlan": "true",
                "local_ip": local_ip(topo, node),
                "l2_population": "true",
                "arp_responder": "true",
            },
            "securitygroup": {"enable_security_group": "true", "firewall_driver": "iptables"},
        }
        svc.write(svc.conf(f"host-{node.name}.conf"), ini(host))
