"""The far side of the lab's external network: a namespace with the internet host and a resolver.

Joined to the external bridge of the network node by a veth (``ext0`` there, ``eth0`` here, the external
subnet's gateway); it has no other link, so nothing in it reaches the host's networks.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable

from ...host import netlink
from .. import namespaces
from ..topology import Topology
from .overlay import Overlay
from .services import Services

EXT_VETH = "ext0"  # the network node's end of the veth to the internet namespace


def build(svc: Services, topo: Topology, overlay: Overlay, attach: Callable[[str], None]) -> None:
    """Namespace, veth (``attach(EXT_VETH)`` joins the node's end to the backend's external bridge),
    addresses, then busybox httpd on the internet host and dnsmasq (DNS only) on the resolver."""
    inet = overlay.internet
    node_ns = topo.node_ns(next(n for n in topo.nodes if n.role == "network"))
    namespaces.create(svc.state, inet.namespace, loopback_up=False)
    with netlink.iproute(node_ns) as ipr:
        ipr.link("add", ifname=EXT_VETH, kind="veth", peer={"ifname": "eth0", "net_ns_fd": inet.namespace})
        ipr.link("set", index=ipr.link_lookup(ifname=EXT_VETH)[0], state="up")
    with netlink.iproute(inet.namespace) as ipr:
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")
        for addr in (inet.host, inet.dns):
            ipr.addr("add", index=lo, address=addr, prefixlen=32)
        eth0 = ipr.link_lookup(ifname="eth0")[0]
        prefix = ipaddress.ip_network(overlay.external.cidr).prefixlen
        ipr.addr("add", index=eth0, address=inet.gateway, prefixlen=prefix)
        ipr.link("set", index=eth0, state="up")
    netlink.disable_tx_checksum("eth0", inet.namespace)  # replies cross the netdev datapath to the router
    attach(EXT_VETH)
    www = svc.path("inet-www")
    os.makedirs(www, exist_ok=True)
    svc.write(os.path.join(www, "index.html"), f"steth lab {svc.state.lab}: the internet host {inet.host}\n")
    httpd = ["busybox", "httpd", "-f", "-p", f"{inet.host}:{inet.tcp_port}", "-h", www]
    svc.spawn("inet-httpd", httpd, netns=inet.namespace)
    svc.spawn(
        "inet-dnsmasq",
        [
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--port=53",
            f"--listen-address={inet.dns}",
            "--bind-interfaces",
            f"--address=/{inet.dns_name}/{inet.host}",
            "--user=root",
            f"--pid-file={svc.path('inet-dnsmasq.pid')}",
        ],
        netns=inet.namespace,
    )
