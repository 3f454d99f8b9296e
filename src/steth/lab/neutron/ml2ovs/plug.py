"""Plugging a lab VM into br-int as nova + os-vif do for an OVS VIF (hybrid: through a qbr Linux bridge)."""

from __future__ import annotations

from ....host import netlink
from ...topology import Topology
from ..record import VMRecord
from ..services import Services
from .config import ovs_rundir
from .node import ovs_env, vsctl


def vif_argv(rundir: str, vm: VMRecord, port: str, tag: str = "") -> list[str]:
    """ovs-vsctl adding ``port`` to br-int with the external_ids the OVS agent looks for (and a VLAN tag)."""
    argv = [
        *vsctl(rundir),
        "--",
        "--may-exist",
        "add-port",
        "br-int",
        port,
        "--",
        "set",
        "Interface",
        port,
        f"external_ids:iface-id={vm.port_id}",
        f"external_ids:attached-mac={vm.mac}",
        "external_ids:iface-status=active",
        f"external_ids:vm-uuid={vm.device_id}",
    ]
    if tag.isdigit():
        argv += ["--", "set", "Port", port, f"tag={tag}"]
    return argv


def plug(svc: Services, topo: Topology, vm: VMRecord) -> None:
    """The VM's NIC (eth0 in its namespace, tap<port> on the node), hybrid or direct, then its OVS port."""
    node_ns = topo.node_ns(topo.node(vm.node))
    pid = vm.port_id[:11]
    tap, qbr, qvb, qvo = f"tap{pid}", f"qbr{pid}", f"qvb{pid}", f"qvo{pid}"
    with netlink.iproute(node_ns) as ipr:
        ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": vm.namespace})
        tap_idx = ipr.link_lookup(ifname=tap)[0]
        if vm.plug == "hybrid":
            ipr.link("add", ifname=qbr, kind="bridge", br_stp_state=0, br_forward_delay=0)
            qbr_idx = ipr.link_lookup(ifname=qbr)[0]
            ipr.link("set", index=qbr_idx, state="up")
            ipr.link("add", ifname=qvb, kind="veth", peer={"ifname": qvo})
            ipr.link("set", index=ipr.link_lookup(ifname=qvb)[0], master=qbr_idx, state="up")
            ipr.link("set", index=tap_idx, master=qbr_idx, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname=qvo)[0], state="up")
            ovs_port = qvo
        else:
            ipr.link("set", index=tap_idx, state="up")
            ovs_port = tap
    with netlink.iproute(vm.namespace) as ipr:
        idx = ipr.link_lookup(ifname="eth0")[0]
        ipr.link("set", index=idx, address=vm.mac, state="up")
    netlink.disable_tx_checksum("eth0", vm.namespace)  # else the netdev datapath drops its UDP and TCP
    rundir = ovs_rundir(svc.state, vm.node)
    svc.run(vif_argv(rundir, vm, ovs_port), env=ovs_env(rundir), what=f"plug {vm.name}")
    vm.ovs_port = ovs_port
    svc.save()
