"""Open vSwitch on one lab node: its own ovsdb-server and a userspace ovs-vswitchd in the node's namespace.

The socket ``<labdir>/<node>/db.sock`` is the one the node's steth-agent already uses. Bridges br-int and
br-tun come from the OVS agent; this module makes the provider bridge br-tenant on eth1 (``physnet1``; the
VXLAN endpoint is an address on it, because the netdev datapath tunnels in userspace) and, on the network
node, br-ex (``extnet``).
"""

from __future__ import annotations

import os

from ....errors import LabError
from ....host import netlink
from ...topology import Node, Topology
from ..services import Services, env, unix_ready, wait
from .config import EXT_BRIDGE, PROVIDER_BRIDGE, has_external, ovs_rundir, tunnel_ip, tunnel_prefix

OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def vsctl(rundir: str, timeout: int = 20) -> list[str]:
    return ["ovs-vsctl", f"--db=unix:{rundir}/db.sock", f"--timeout={timeout}"]


def ovs_env(rundir: str) -> dict[str, str]:
    return env(rundir, OVS_RUNDIR=rundir, OVS_DBDIR=rundir, OVS_LOGDIR=rundir)


def add_bridge(svc: Services, rundir: str, bridge: str, *ports: str, what: str) -> None:
    argv = [
        *vsctl(rundir),
        "--",
        "--may-exist",
        "add-br",
        bridge,
        "--",
        "set",
        "bridge",
        bridge,
        "datapath_type=netdev",
    ]
    for port in ports:
        argv += ["--", "--may-exist", "add-port", bridge, port]
    svc.run(argv, env=ovs_env(rundir), what=what)


def start(svc: Services, topo: Topology, node: Node, dvr: bool = False) -> None:
    """ovsdb-server, ovs-vswitchd, the provider bridge (and br-ex where :func:`has_external`), the tunnel address."""
    ns = topo.node_ns(node)
    rundir = ovs_rundir(svc.state, node.name)
    os.makedirs(rundir, exist_ok=True)
    db, sock = os.path.join(rundir, "conf.db"), os.path.join(rundir, "db.sock")
    renv = ovs_env(rundir)
    svc.run(["ovsdb-tool", "create", db, OVS_SCHEMA], what="ovsdb-tool create", env=renv)
    server = f"ovsdb-server-{node.name}"
    svc.spawn(
        server,
        [
            "ovsdb-server",
            db,
            f"--remote=punix:{sock}",
            f"--unixctl={rundir}/ovsdb-server.ctl",
            f"--pidfile={rundir}/ovsdb-server.pid",
            f"--log-file={rundir}/ovsdb-server.log",
        ],
        env=renv,
    )
    wait(f"ovsdb-server on {node.name}", lambda: unix_ready(sock), 20, alive=svc.exited(server))
    svc.run([*vsctl(rundir), "--no-wait", "init"], env=renv, what="ovs-vsctl init")
    # --monitor, as ovs-ctl starts it on a real node: a crashed ovs-vswitchd is restarted (the log says
    # "N crashes: pid P died, killed (Aborted), restarting"). Debian 12's 3.1.0 aborts in its userspace
    # conntrack (conntrack.c:1063, conn_type == CT_CONN_TYPE_DEFAULT; fixed upstream by 6753b1086 in
    # 3.1.3) when OVN's NAT rules change under live connections, which the lab's faults do.
    svc.spawn(
        f"ovs-vswitchd-{node.name}",
        [
            "ovs-vswitchd",
            f"unix:{sock}",
            f"--pidfile={rundir}/ovs-vswitchd.pid",
            f"--log-file={rundir}/ovs-vswitchd.log",
            "--monitor",
        ],
        netns=ns,
        env=renv,
        group=True,
    )
    # provider bridge on the tenant trunk; the VXLAN endpoint lives on it (userspace tunnelling)
    uplink = topo.networks[1].node_ifname
    add_bridge(svc, rundir, PROVIDER_BRIDGE, uplink, what=f"{PROVIDER_BRIDGE} on {node.name}")
    if has_external(node, dvr):  # the external network's bridge; the internet's veth joins it later
        add_bridge(svc, rundir, EXT_BRIDGE, what=f"{EXT_BRIDGE} on {node.name}")
    # answer ARP only on the interface that holds the address (eth1 must not answer for br-tenant)
    svc.run(["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1"], netns=ns, what="arp_ignore")
    with netlink.iproute(ns) as ipr:
        found = ipr.link_lookup(ifname=PROVIDER_BRIDGE)
        if not found:
            raise LabError(
                f"ovs-vswitchd on {node.name} did not create {PROVIDER_BRIDGE}", f"see {rundir}/ovs-vswitchd.log"
            )
        ipr.addr("add", index=found[0], address=str(tunnel_ip(topo, node)), prefixlen=tunnel_prefix())
        ipr.link("set", index=found[0], state="up")


def add_port(svc: Services, node: str, bridge: str, port: str) -> None:
    """Attach an existing interface of the node to one of its bridges."""
    rundir = ovs_rundir(svc.state, node)
    svc.run(
        [*vsctl(rundir), "--", "--may-exist", "add-port", bridge, port], env=ovs_env(rundir), what=f"{port} on {bridge}"
    )
