"""ML2/Open vSwitch configuration of the lab: the ML2 section for neutron-server and every agent's files."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from ...state import LabState
from ...topology import Node, Topology
from ..overlay import EXT_PHYSNET, PHYSNET, VLAN_RANGE, VNI_RANGE
from ..services import Services, ini

PROVIDER_BRIDGE = "br-tenant"
EXT_BRIDGE = "br-ex"
BINARIES = (
    "neutron-openvswitch-agent",
    "neutron-dhcp-agent",
    "neutron-l3-agent",
    "conntrack",
    "dnsmasq",
    "busybox",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovsdb-tool",
    "ovs-vsctl",
    "ping",
    "unshare",  # DVR: each compute node's view of /run/netns (views.py)
)

# neutron-l3-agent as /usr/bin/neutron-l3-agent runs it, except for one thing: at its first full sync
# the agent deletes every qrouter-*/snat-*/fip-* namespace of the host whose router it does not know,
# which on a machine with several labs (or a real cloud's agent) removes the others' routers. The lab's
# agent keeps cleaning up the routers it knows (ensure_router_cleanup); `lab down` removes the rest.
L3_LAUNCHER = """\
import sys

from neutron.cmd.eventlet.agents.l3 import main  # eventlet monkey-patching first, as upstream
from neutron.agent.l3 import namespace_manager

_init = namespace_manager.NamespaceManager.__init__


def _no_stale_cleanup(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._clean_stale = False  # never list (and delete) namespaces of routers of other Neutrons


namespace_manager.NamespaceManager.__init__ = _no_stale_cleanup
sys.exit(main())
"""


def ovs_rundir(state: LabState, node: str) -> str:
    """OVS run directory of a node: where its db.sock (the steth-agent's ovsdb connection) lives."""
    return os.path.join(state.directory, node)


def tunnel_ip(topo: Topology, node: Node) -> ipaddress.IPv4Address:
    """VXLAN endpoint of a node: x.y.99.(10+i) inside the tenant /16 (eth1 keeps its own address)."""
    tenant = topo.networks[1].cidr
    return tenant.network_address + 99 * 256 + 10 + node.index


def tunnel_prefix() -> int:
    return 24


def has_external(node: Node, dvr: bool = False) -> bool:
    """Which nodes reach the external network (br-ex): the network node; with DVR every node (``fg-`` ports)."""
    return dvr or node.role == "network"


def bridge_mappings(node: Node, dvr: bool = False) -> str:
    """The tenant trunk everywhere, the external network where :func:`has_external`."""
    tenant = f"{PHYSNET}:{PROVIDER_BRIDGE}"
    return f"{tenant},{EXT_PHYSNET}:{EXT_BRIDGE}" if has_external(node, dvr) else tenant


def l3_agent_mode(node: Node, dvr: bool = False) -> str:
    """legacy; with DVR ``dvr_snat`` on the network node (SNAT and the routers' central part), ``dvr`` elsewhere."""
    if not dvr:
        return "legacy"
    return "dvr_snat" if node.role == "network" else "dvr"


def l3_ini(node: Node, dvr: bool = False) -> str:
    return mode_ini(l3_agent_mode(node, dvr))


def mode_ini(mode: str) -> str:
    """The L3 agents' ini file of one agent_mode (l3_agent.ini for legacy)."""
    return "l3_agent.ini" if mode == "legacy" else f"l3_agent-{mode}.ini"


def write_l3_ini(svc: Services, mode: str) -> str:
    """The ini of an agent_mode (no HA routers, no metadata proxy: no haproxy per router); its file name."""
    l3 = {"DEFAULT": {"interface_driver": "openvswitch", "agent_mode": mode, "enable_metadata_proxy": "false"}}
    svc.write(svc.conf(mode_ini(mode)), ini(l3))
    return mode_ini(mode)


def server_defaults(dvr: bool = False) -> dict[str, Any]:
    """neutron.conf [DEFAULT] of the backend: new routers distributed with DVR."""
    return {"router_distributed": "true"} if dvr else {}


def ml2_section(dvr: bool = False) -> dict[str, dict[str, Any]]:
    # DVR over VXLAN needs l2population ("DVR deployments for VXLAN/GRE/Geneve underlays require L2-pop")
    return {
        "ml2": {
            "type_drivers": "flat,vlan,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": "openvswitch,l2population" if dvr else "openvswitch",
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": f"{PHYSNET},{EXT_PHYSNET}"},
        "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
        "ml2_type_vxlan": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}"},
    }


def write_agent_configs(svc: Services, topo: Topology, dvr: bool = False) -> None:
    """agent-common.conf, dhcp_agent.ini, the L3 agents' ini (one per agent_mode), the L3 launcher and one
    host-<node>.conf per node."""
    common: dict[str, dict[str, Any]] = {
        "DEFAULT": {"transport_url": svc.amqp_url(), "debug": "false"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "agent": {"report_interval": 5},
    }
    # dnsmasq would drop to user nobody, which cannot read its host files under a 0700 lab
    # directory ("cannot read .../host: Permission denied" -> "no address available"): keep root.
    svc.write(svc.conf("dnsmasq.conf"), "user=root\n")
    dhcp: dict[str, dict[str, Any]] = {
        "DEFAULT": {
            "interface_driver": "openvswitch",
            "dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
            "enable_isolated_metadata": "false",
            "force_metadata": "false",
            "resync_interval": 5,
            "dnsmasq_config_file": svc.conf("dnsmasq.conf"),
            "dnsmasq_base_log_dir": svc.path("logs", "dnsmasq"),
        }
    }
    svc.write(svc.conf("agent-common.conf"), ini(common))
    svc.write(svc.conf("dhcp_agent.ini"), ini(dhcp))
    for mode in sorted({l3_agent_mode(node, dvr) for node in topo.nodes}):
        write_l3_ini(svc, mode)
    svc.write(svc.conf("neutron-l3-agent.py"), L3_LAUNCHER)
    for node in topo.nodes:
        rundir = ovs_rundir(svc.state, node.name)
        host: dict[str, dict[str, Any]] = {
            "DEFAULT": {"host": node.name, "state_path": svc.path(f"state-{node.name}")},
            "oslo_concurrency": {"lock_path": svc.path(f"state-{node.name}", "lock")},
            # non-empty on purpose: an empty root_helper makes oslo.privsep use sudo, which
            # drops OVS_RUNDIR (then ovs-ofctl cannot find the node's bridges)
            "agent": {"root_helper": f"env OVS_RUNDIR={rundir}", "tunnel_types": "vxlan", **_dvr_agent(dvr)},
            "ovs": {
                "integration_bridge": "br-int",
                "tunnel_bridge": "br-tun",
                "bridge_mappings": bridge_mappings(node, dvr),
                "datapath_type": "netdev",
                "local_ip": str(tunnel_ip(topo, node)),
                "ovsdb_connection": f"unix:{rundir}/db.sock",
                # No inactivity probe on the bridges' OpenFlow connection to the agent (its os_ken app).
                # With the default 10 s, an agent that does not answer for 10 s (the ovs-agent-down fault
                # freezes it; on a loaded machine it may be starved of CPU) is disconnected by
                # ovs-vswitchd; when it runs again, os_ken re-sends the OpenFlow request that was in
                # flight on the new connection, fails ("assert self.xid is None" in set_xid), and the
                # agent's rpc_loop waits of_request_timeout (300 s) for a reply that never comes: no
                # port of that node is wired meanwhile (ports stay DOWN, repairs time out).
                "of_inactivity_probe": 0,
            },
            "securitygroup": {"firewall_driver": "openvswitch"},
        }
        svc.write(svc.conf(f"host-{node.name}.conf"), ini(host))


def _dvr_agent(dvr: bool) -> dict[str, str]:
    """The OVS agent's [agent] options for DVR (its DVR MAC flows; l2population is required with VXLAN)."""
    if not dvr:
        return {}
    return {"enable_distributed_routing": "true", "l2_population": "true", "arp_responder": "true"}
