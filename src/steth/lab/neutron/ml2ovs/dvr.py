"""What DVR adds to the ML2/OVS lab's wiring: the external network reaches every compute node.

With distributed routers a floating IP leaves through the ``fip-`` namespace of the VM's own compute
node (its ``fg-`` port on br-int, out through br-ex), so every compute node needs the external physnet.
The internet namespace becomes the external segment's switch: a Linux bridge there holds the subnet's
gateway address and one veth per node (``ext0`` on the node, joined to its br-ex).
"""

from __future__ import annotations

from ....host import netlink
from ...topology import Topology
from ..internet import EXT_VETH
from ..overlay import Overlay
from ..services import Services
from . import node as ovs_node
from .config import EXT_BRIDGE

SWITCH = "brx"  # inside the internet namespace


def _switch(ns: str) -> int:
    """The bridge of the internet namespace, made from its single eth0 (whose addresses move onto it)."""
    with netlink.iproute(ns) as ipr:
        found = ipr.link_lookup(ifname=SWITCH)
        if found:
            return int(found[0])
        ipr.link("add", ifname=SWITCH, kind="bridge", br_stp_state=0, br_forward_delay=0)
        br = ipr.link_lookup(ifname=SWITCH)[0]
        eth0 = ipr.link_lookup(ifname="eth0")[0]
        addrs = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=eth0, family=2)]
        for address, prefix in addrs:
            ipr.addr("del", index=eth0, address=address, prefixlen=prefix)
        ipr.link("set", index=eth0, master=br)
        for address, prefix in addrs:
            ipr.addr("add", index=br, address=address, prefixlen=prefix)
        ipr.link("set", index=br, state="up")
        return int(br)


def wire_external(svc: Services, topo: Topology, overlay: Overlay) -> None:
    """Every compute node's br-ex joined to the external segment (after internet.build wired the network node)."""
    ns = overlay.internet.namespace
    br = _switch(ns)
    netlink.disable_tx_checksum(SWITCH, ns)  # its frames cross the nodes' netdev datapaths
    for n in topo.nodes:
        if n.role == "network":
            continue
        peer = f"x-{n.name}"[:15]
        with netlink.iproute(topo.node_ns(n)) as ipr:
            ipr.link("add", ifname=EXT_VETH, kind="veth", peer={"ifname": peer, "net_ns_fd": ns})
            ipr.link("set", index=ipr.link_lookup(ifname=EXT_VETH)[0], state="up")
        with netlink.iproute(ns) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=peer)[0], master=br, state="up")
        netlink.disable_tx_checksum(peer, ns)
        ovs_node.add_port(svc, n.name, EXT_BRIDGE, EXT_VETH)
