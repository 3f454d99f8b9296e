"""A lab node as an OVN chassis: the ML2/OVS lab's Open vSwitch (br-tenant on eth1 holding the tunnel
address, br-ex on the network node) configured for ovn-controller as deployment tools do, and
ovn-controller itself inside the node's namespace."""

from __future__ import annotations

from ...topology import Node, Topology
from ..ml2ovs import node as ovs_node
from ..ml2ovs.config import ovs_rundir, tunnel_ip
from ..overlay import EXT_PHYSNET, PHYSNET
from ..services import Services, env, wait
from .central import Central
from .config import ENCAP, bridge_mappings, chassis_mac, cms_options


def start(svc: Services, topo: Topology, central: Central, node: Node) -> None:
    ovs_node.start(svc, topo, node)
    rundir = ovs_rundir(svc.state, node.name)
    macs = [f"{PHYSNET}:{chassis_mac(svc.state.lab, node, PHYSNET)}"]
    if node.role == "network":
        macs.append(f"{EXT_PHYSNET}:{chassis_mac(svc.state.lab, node, EXT_PHYSNET)}")
    ids = {
        "system-id": node.name,
        "hostname": node.name,  # all namespaces share the UTS hostname
        "ovn-remote": central.unix_remotes("sb"),  # O7: the root namespace's 127.0.0.1 is not reachable
        "ovn-encap-type": ENCAP,
        "ovn-encap-ip": str(tunnel_ip(topo, node)),
        "ovn-bridge": "br-int",
        "ovn-bridge-datapath-type": "netdev",
        "ovn-bridge-mappings": bridge_mappings(node),
        "ovn-chassis-mac-mappings": ",".join(macs),
        "ovn-cms-options": f'"{cms_options(node)}"',
    }
    svc.run(
        [*ovs_node.vsctl(rundir), "set", "Open_vSwitch", ".", *(f"external_ids:{k}={v}" for k, v in ids.items())],
        env=ovs_node.ovs_env(rundir),
        what=f"ovn-controller settings on {node.name}",
    )
    svc.spawn(
        f"ovn-controller-{node.name}",
        [
            "ovn-controller",
            f"unix:{rundir}/db.sock",
            f"--pidfile={rundir}/ovn-controller.pid",
            f"--log-file={rundir}/ovn-controller.log",
        ],
        netns=topo.node_ns(node),
        env=env(rundir, OVS_RUNDIR=rundir, OVN_RUNDIR=rundir),  # O3: its unixctl socket lands there
    )


def sbctl(svc: Services, central: Central, *args: str, what: str = "ovn-sbctl") -> str:
    return svc.run(
        ["ovn-sbctl", f"--db={central.unix_remotes('sb')}", "--timeout=10", *args], env=central.env(), what=what
    )


def registered(svc: Services, topo: Topology, central: Central) -> None:
    """Wait for every node's Chassis, then mirror its bridge mappings and cms options into external_ids.

    O4: Debian's neutron 21 reads them from Chassis.external_ids, OVN 23.03 writes other_config only;
    without the copy VLAN/flat ports fail to bind ("Refusing to bind port ... bridge mapping physical
    networks [] not supporting physical network: physnet1") and every chassis is a gateway candidate.
    """
    want = {n.name for n in topo.nodes}

    def names() -> bool:
        return want <= set(sbctl(svc, central, "--bare", "--columns=name", "list", "Chassis").split())

    ctl = [f"ovn-controller-{n}" for n in sorted(want)]
    wait(f"{len(want)} chassis in the Southbound DB", names, 60, alive=svc.exited(*ctl), log=svc.logs)
    for node in topo.nodes:
        sbctl(
            svc,
            central,
            "set",
            "Chassis",
            node.name,
            f"external_ids:ovn-bridge-mappings={bridge_mappings(node)}",
            f'external_ids:ovn-cms-options="{cms_options(node)}"',
            what=f"Chassis {node.name} external_ids",
        )


def pg_drop_ready(svc: Services, central: Central) -> bool:
    """neutron-server made its neutron_pg_drop Port_Group (every port create needs it)."""
    out = svc.run(
        [
            "ovn-nbctl",
            f"--db={central.unix_remotes('nb')}",
            "--timeout=10",
            "--bare",
            "--columns=name",
            "find",
            "Port_Group",
            "name=neutron_pg_drop",
        ],
        env=central.env(),
        what="ovn-nbctl find Port_Group",
    )
    return "neutron_pg_drop" in out
