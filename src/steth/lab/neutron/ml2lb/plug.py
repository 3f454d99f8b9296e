"""Plugging a lab VM as nova + os-vif do for a Linux bridge VIF: ``tap<port[:11]>`` into ``brq<net[:11]>``.

The linuxbridge agent does not enslave ports owned by ``compute:*`` ("... is owned by compute:nova and thus
added elsewhere", pitfall L4): os-vif creates the bridge if missing (forward delay 0) and adds the tap.
"""

from __future__ import annotations

from ....host import netlink
from ...topology import Topology
from ..record import VMRecord


def bridge_name(network_id: str) -> str:
    return f"brq{network_id[:11]}"


def tap_name(port_id: str) -> str:
    return f"tap{port_id[:11]}"


def plug(topo: Topology, vm: VMRecord, network_id: str) -> None:
    """The VM's NIC (eth0 in its namespace, tap<port> on the node), then the tap into brq<net>."""
    node_ns = topo.node_ns(topo.node(vm.node))
    tap, brq = tap_name(vm.port_id), bridge_name(network_id)
    with netlink.iproute(node_ns) as ipr:
        ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": vm.namespace})
        if not ipr.link_lookup(ifname=brq):
            try:
                ipr.link("add", ifname=brq, kind="bridge", br_forward_delay=0, br_stp_state=0)
            except Exception:  # the agent made it meanwhile (it builds brq for the network's DHCP port)
                if not ipr.link_lookup(ifname=brq):
                    raise
        brq_idx = ipr.link_lookup(ifname=brq)[0]
        ipr.link("set", index=brq_idx, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname=tap)[0], master=brq_idx, state="up")
    with netlink.iproute(vm.namespace) as ipr:
        idx = ipr.link_lookup(ifname="eth0")[0]
        ipr.link("set", index=idx, address=vm.mac, state="up")
    vm.ovs_port = tap
