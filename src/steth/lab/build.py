"""Build and remove the underlay lab with pyroute2; every step is recorded in the state first."""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
from collections.abc import Callable

from ..errors import HostError, LabError
from ..host import netlink, proc
from . import namespaces
from . import tls as lab_tls
from .agents import agent_argv, agent_running, wait_for_agents
from .controller_conf import config_path, controller_config_text, write_controller_config
from .state import LabState
from .topology import AGENT_PORT, Node, Topology, free_cidrs
from .topology import build as build_topology

__all__ = [
    "LabBuilder",
    "agent_argv",
    "agent_running",
    "config_path",
    "controller_config_text",
    "down",
    "topology_of",
    "up",
    "wait_for_agents",
    "write_controller_config",
]

Progress = Callable[[str], None]
NUD_PERMANENT = 0x80
DYNAMIC_NEIGHBOUR_BUDGET = 512  # half the kernel's default gc_thresh3, shared with the host


def _quiet(_: str) -> None:
    pass


def topology_of(state: LabState) -> Topology:
    return build_topology(state.lab, state.computes, state.cidrs)


def host_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """IPv4 networks the host's routes and addresses cover (other labs' uplinks included)."""
    with netlink.iproute() as ipr:
        used: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for r in ipr.get_routes(family=2):
            dst = r.get("dst")
            if dst:
                used.append(ipaddress.ip_network(f"{dst}/{r['dst_len']}", strict=False))
        for a in ipr.get_addr(family=2):
            used.append(ipaddress.ip_network(f"{a.get('address')}/{a['prefixlen']}", strict=False))
    return used


def check_free(topo: Topology) -> None:
    """Refuse to build over addresses the host already uses (its routes and addresses)."""
    used = host_networks()
    with netlink.iproute() as ipr:
        links = {link.get("ifname") for link in ipr.get_links()}
    for net in topo.networks:
        for u in used:
            if u.prefixlen > 0 and net.cidr.overlaps(u):
                raise LabError(
                    f"the {net.name} network {net.cidr} of lab {topo.lab} overlaps {u} on this host",
                    "use another lab name (--name) or remove the other lab",
                )
    if topo.uplink in links:
        raise LabError(
            f"interface {topo.uplink} already exists on this host",
            f"another lab called {topo.lab} may be up without its state file; remove it by hand",
        )


class LabBuilder:
    """Creates the lab's namespaces, links and agents, recording each in the state file."""

    def __init__(self, state: LabState, progress: Progress = _quiet) -> None:
        self.state = state
        self.topo = topology_of(state)
        self.progress = progress

    # --- recording helpers ---
    def _netns(self, name: str) -> None:
        namespaces.create(self.state, name)

    # --- steps ---
    def switches(self) -> None:
        topo = self.topo
        self._netns(topo.switch_ns)
        with netlink.iproute(topo.switch_ns) as ipr:
            for net in topo.networks:
                ipr.link("add", ifname=topo.bridge(net), kind="bridge", br_stp_state=0, br_forward_delay=0)
                ipr.link("set", index=ipr.link_lookup(ifname=topo.bridge(net))[0], state="up")
        # the controller (root namespace) reaches the agents over the management switch
        self.state.root_links.append(topo.uplink)
        self.state.save()
        with netlink.iproute() as ipr:
            ipr.link("add", ifname=topo.uplink, kind="veth", peer={"ifname": "uplink", "net_ns_fd": topo.switch_ns})
            idx = ipr.link_lookup(ifname=topo.uplink)[0]
            ipr.addr("add", index=idx, address=str(topo.uplink_address()), prefixlen=topo.management.cidr.prefixlen)
            ipr.link("set", index=idx, state="up")
        with netlink.iproute(topo.switch_ns) as ipr:
            bridge = ipr.link_lookup(ifname=topo.bridge(topo.management))[0]
            ipr.link("set", index=ipr.link_lookup(ifname="uplink")[0], master=bridge, state="up")

    def node(self, node: Node) -> None:
        topo = self.topo
        ns = topo.node_ns(node)
        self._netns(ns)
        with netlink.iproute(ns) as ipr:
            for net in topo.networks:
                ipr.link(
                    "add",
                    ifname=net.node_ifname,
                    kind="veth",
                    peer={"ifname": topo.switch_port(node, net), "net_ns_fd": topo.switch_ns},
                )
                idx = ipr.link_lookup(ifname=net.node_ifname)[0]
                ipr.addr("add", index=idx, address=str(topo.address(node, net)), prefixlen=net.cidr.prefixlen)
                ipr.link("set", index=idx, state="up")
        with netlink.iproute(topo.switch_ns) as ipr:
            for net in topo.networks:
                bridge = ipr.link_lookup(ifname=topo.bridge(net))[0]
                port = ipr.link_lookup(ifname=topo.switch_port(node, net))[0]
                ipr.link("set", index=port, master=bridge, state="up")

    def static_neighbours(self) -> int:
        """Permanent neighbour entries for every peer on every lab network, in every node.

        The kernel's ARP table is one table for all namespaces, and its gc_thresh3
        (1024 by default) counts dynamic entries of every namespace together: a
        50-node full mesh needs 50*49*3 = 7350 and overflows it ("neighbor table
        overflow", packets dropped). Permanent entries are not counted, so a large
        lab pins them instead of changing the host's sysctls.
        """
        topo = self.topo
        macs: dict[tuple[str, str], str] = {}
        for node in topo.nodes:
            with netlink.iproute(topo.node_ns(node)) as ipr:
                for net in topo.networks:
                    link = ipr.get_links(ipr.link_lookup(ifname=net.node_ifname)[0])[0]
                    macs[(node.name, net.name)] = link.get("address")
        added = 0
        for node in topo.nodes:
            with netlink.iproute(topo.node_ns(node)) as ipr:
                for net in topo.networks:
                    idx = ipr.link_lookup(ifname=net.node_ifname)[0]
                    for peer in topo.nodes:
                        if peer is not node:
                            ipr.neigh(
                                "replace",
                                ifindex=idx,
                                dst=str(topo.address(peer, net)),
                                lladdr=macs[(peer.name, net.name)],
                                state=NUD_PERMANENT,
                            )
                            added += 1
        with netlink.iproute() as ipr:  # the controller's side of the management uplink (our own veth)
            idx = ipr.link_lookup(ifname=topo.uplink)[0]
            for peer in topo.nodes:
                ipr.neigh(
                    "replace",
                    ifindex=idx,
                    dst=str(topo.address(peer, topo.management)),
                    lladdr=macs[(peer.name, topo.management.name)],
                    state=NUD_PERMANENT,
                )
        return added

    def token(self) -> str:
        path = os.path.join(self.state.directory, "token")
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        return path

    def start_agent(self, node: Node) -> None:
        topo = self.topo
        logs = os.path.join(self.state.directory, "logs")
        os.makedirs(logs, exist_ok=True)
        argv = [
            *agent_argv(),
            "--bind",
            str(topo.address(node, topo.management)),
            "--port",
            str(AGENT_PORT),
            "--token-file",
            self.token(),
            "--ovsdb-connection",
            f"unix:{os.path.join(self.state.directory, node.name, 'db.sock')}",
            "--state-dir",
            os.path.join(self.state.directory, node.name, "agent"),
            # a link to the /run/netns of the node's own daemons (OVN's metadata agent), when they run
            "--netns-dirs",
            os.path.join(self.state.directory, node.name, "netns"),
            *lab_tls.agent_args(self.state, topo, node),
        ]
        rec = proc.spawn(argv, netns=topo.node_ns(node), log_path=os.path.join(logs, f"agent-{node.name}.log"))
        self.state.agents[node.name] = rec.to_json()
        self.state.save()

    def stop_agent(self, node: Node) -> bool:
        rec = self.state.agent(node.name)
        stopped = proc.terminate(rec) if rec else False
        self.state.agents.pop(node.name, None)
        self.state.save()
        return stopped


def up(
    lab: str = "lab",
    computes: int = 2,
    cidrs: tuple[str, str, str] | None = None,
    progress: Progress = _quiet,
    static_neighbours: str = "auto",
    neutron: bool = False,
    backend: str = "ovs",
    dvr: bool = False,
) -> LabState:
    """Build the lab; on any failure remove what was built and raise LabError (``dvr``: ML2/OVS with DVR)."""
    if LabState.load(lab) is not None:
        raise LabError(
            f"lab {lab} is already up (state in {LabState(lab, 0, ('', '', '')).directory})",
            f"use it, or remove it first with `steth lab down --name {lab}`",
        )
    build_topology(lab, computes, cidrs)  # validates name and size before touching the host
    if cidrs is None:
        cidrs = free_cidrs(lab, host_networks())
    topo = build_topology(lab, computes, cidrs)
    check_free(topo)
    state = LabState(lab=lab, computes=computes, cidrs=tuple(str(n.cidr) for n in topo.networks))  # type: ignore[arg-type]
    state.save()
    builder = LabBuilder(state, progress)
    try:
        progress(f"switches for {', '.join(n.name for n in topo.networks)}")
        builder.switches()
        for node in topo.nodes:
            progress(f"node {node.name}")
            builder.node(node)
        pairs = len(topo.nodes) * (len(topo.nodes) - 1) * len(topo.networks)
        if static_neighbours == "yes" or (static_neighbours == "auto" and pairs > DYNAMIC_NEIGHBOUR_BUDGET):
            progress(f"pinning {pairs} neighbour entries (a full mesh would overflow the kernel's ARP table)")
            builder.static_neighbours()
            state.extra["static_neighbours"] = True
        progress(f"starting {len(topo.nodes)} agents")
        for node in topo.nodes:
            builder.start_agent(node)
        problems = wait_for_agents(state, timeout=20 + 0.5 * len(topo.nodes))
        if problems:
            detail = "; ".join(f"{n}: {p}" for n, p in sorted(problems.items()))
            raise LabError(f"agents did not start: {detail}", f"logs are in {state.directory}/logs")
        write_controller_config(state)
        if neutron and backend == "ovn":
            from .neutron import ml2ovn

            ml2ovn.up(state, topo, progress)
            write_controller_config(state)  # now with the [ovn] section
        elif neutron and backend == "linuxbridge":
            from .neutron import ml2lb

            ml2lb.up(state, topo, progress)
            write_controller_config(state)  # now with the [openstack] section
        elif neutron:
            from . import neutron as lab_neutron

            lab_neutron.up(state, topo, progress, dvr=dvr)
            if dvr:  # the compute nodes' agents moved into their namespace views (neutron/ml2ovs/views.py)
                problems = wait_for_agents(state, timeout=20 + 0.5 * len(topo.nodes))
                if problems:
                    raise LabError(f"agents did not restart: {problems}", f"logs are in {state.directory}/logs")
            write_controller_config(state)  # now with the [openstack] section
        state.status = "up"
        state.save()
        return state
    except BaseException as exc:
        state.status = "failed"
        state.save()
        kept = keep_logs(state)
        if os.environ.get("STETH_LAB_KEEP_FAILED") == "1":  # debugging a failed up: leave it for `lab down`
            raise
        down(lab)
        if kept and isinstance(exc, LabError):
            exc.hint = f"{exc.hint + '; ' if exc.hint else ''}logs kept in {kept}"
        if isinstance(exc, LabError):
            raise
        if isinstance(exc, (HostError, OSError)):
            raise LabError(f"building lab {lab} failed: {exc}", "nothing was left behind") from exc
        raise


def keep_logs(state: LabState) -> str | None:
    """Copy the logs of a failed `up` (agents, Neutron, OVS) next to the lab directory; its path."""
    dest = state.directory.rstrip("/") + "-failed-logs"
    found = False
    for root, _dirs, files in os.walk(state.directory):
        for name in files:
            if name.endswith((".log", ".out")) or name == "error.log":
                rel = os.path.relpath(os.path.join(root, name), state.directory)
                target = os.path.join(dest, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                try:
                    shutil.copyfile(os.path.join(root, name), target)
                    found = True
                except OSError:
                    pass
    return dest if found else None


def down(lab: str = "lab", progress: Progress = _quiet) -> LabState | None:
    """Remove exactly what the state file records; None if there is no such lab."""
    from pyroute2 import netns

    state = LabState.load(lab)
    if state is None:
        return None
    from . import faults

    for problem in faults.remove_all(state):
        progress(f"undoing a fault: {problem}")
    from . import neutron as lab_neutron

    for problem in lab_neutron.down(state, progress):
        progress(f"removing Neutron: {problem}")
    for node, data in list(state.agents.items()):
        progress(f"stopping agent {node}")
        from ..host.proc import ProcRecord

        proc.terminate(ProcRecord.from_json(data))
    existing = set(netns.listnetns())
    for ns in reversed(state.namespaces):
        if ns in existing:
            progress(f"removing namespace {ns}")
            netns.remove(ns)
    with netlink.iproute() as ipr:
        for link in state.root_links:
            found = ipr.link_lookup(ifname=link)
            if found:
                ipr.link("del", index=found[0])
    shutil.rmtree(state.directory, ignore_errors=True)
    return state
