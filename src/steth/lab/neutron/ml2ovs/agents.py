"""The ML2/OVS lab's Neutron agents: an OVS agent on every node; DHCP and L3 (legacy) agents on the network node.

With DVR also an L3 agent (``agent_mode = dvr``) on every compute node, run in the node's namespace view
(views.py) so that its ``qrouter-``/``fip-`` namespaces are that node's own.
"""

from __future__ import annotations

import os

from ....host import proc
from ...topology import Node, Topology
from ..record import NeutronRecord
from ..services import Services, env, wait
from . import views
from .config import l3_agent_mode, l3_ini, ovs_rundir


def l3_argv(svc: Services, node: Node, ini_name: str) -> list[str]:
    """The lab's L3 agent launcher (no sweep of other routers' namespaces) with the node's files."""
    return [
        "/usr/bin/python3",
        svc.conf("neutron-l3-agent.py"),
        "--config-file",
        svc.conf("agent-common.conf"),
        "--config-file",
        svc.conf(f"host-{node.name}.conf"),
        "--config-file",
        svc.conf(ini_name),
        "--log-file",
        os.path.join(svc.logs, f"l3-agent-{node.name}.log"),
    ]


def start_l3(svc: Services, topo: Topology, node: Node, ini_name: str) -> None:
    """The node's L3 agent (recorded as ``l3-agent-<node>``), in the node's view when it has one."""
    renv = env(svc.dir, OVS_RUNDIR=ovs_rundir(svc.state, node.name))
    argv = l3_argv(svc, node, ini_name)
    pid = views.holder_pid(svc.rec, node.name)
    if pid:
        svc.spawn(f"l3-agent-{node.name}", [*views.enter(pid), *argv], env=renv)
    else:
        svc.spawn(f"l3-agent-{node.name}", argv, netns=topo.node_ns(node), env=renv)


def l3_process(rec: NeutronRecord, node: str) -> proc.ProcRecord | None:
    """The node's running L3 agent: as recorded, or (restarted by a fault's undo in another process, whose
    state copy may not keep the new record) found by its launcher and its own log file."""
    recorded = rec.proc(f"l3-agent-{node}")
    if recorded is not None and proc.is_running(recorded):
        return recorded
    log = os.path.join(rec.dir, "logs", f"l3-agent-{node}.log")
    launcher = os.path.join(rec.dir, "etc", "neutron-l3-agent.py")
    for pid in proc.pids_naming(log):
        found = proc.record_of(pid)
        if found is not None and _argv_has(pid, launcher):
            return found
    return None


def _argv_has(pid: int, word: str) -> bool:
    """``word`` in the process's command line (oslo.service rewrites it as one title string)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return word.encode() in fh.read()
    except OSError:
        return False


ROUTER_SYNC_TIMEOUT = 90.0  # a restarted L3 agent's full sync of the lab's one router (~5-20 s, loaded more)


def restart_l3(svc: Services, topo: Topology, node: Node, ini_name: str, synced: bool = False) -> None:
    """Stop the node's L3 agent (if it runs) and start it again with ``ini_name`` (its agent_mode).

    ``synced`` (a repair): return once the new agent has processed the lab's router. Until then it is still
    rebuilding what it owns (a compute node's fip- namespace, its fg- and rfp- ports), and the next fault or
    check would meet a half-built namespace."""
    log = os.path.join(svc.logs, f"l3-agent-{node.name}.log")
    offset = os.path.getsize(log) if os.path.exists(log) else 0
    running = l3_process(svc.rec, node.name)
    if running is not None:
        proc.terminate(running, timeout=10.0)
    start_l3(svc, topo, node, ini_name)
    if synced and svc.rec.router is not None:
        needle = f"Finished a router update for {svc.rec.router.id}"

        def processed() -> bool:
            with open(log, errors="replace") as fh:
                fh.seek(offset)
                return needle in fh.read()

        what = f"the restarted L3 agent of {node.name} processing router {svc.rec.router.id}"
        wait(what, processed, ROUTER_SYNC_TIMEOUT, alive=svc.exited(f"l3-agent-{node.name}"), log=log)


def start(svc: Services, topo: Topology, dvr: bool = False) -> None:
    """Start every agent (recorded), each in its node's namespace with its node's OVS_RUNDIR."""
    common = ["--config-file", svc.conf("agent-common.conf")]
    for node in topo.nodes:
        ns = topo.node_ns(node)
        renv = env(svc.dir, OVS_RUNDIR=ovs_rundir(svc.state, node.name))
        host = [*common, "--config-file", svc.conf(f"host-{node.name}.conf")]

        def log(name: str, node_name: str = node.name) -> list[str]:
            return ["--log-file", os.path.join(svc.logs, f"{name}-{node_name}.log")]

        svc.spawn(f"ovs-agent-{node.name}", ["neutron-openvswitch-agent", *host, *log("ovs-agent")], netns=ns, env=renv)
        if dvr:
            wait_dvr_mac(svc, node)
        if node.role == "network":
            dhcp = ["--config-file", svc.conf("dhcp_agent.ini")]
            svc.spawn(
                f"dhcp-agent-{node.name}", ["neutron-dhcp-agent", *host, *dhcp, *log("dhcp-agent")], netns=ns, env=renv
            )
        if node.role == "network" or l3_agent_mode(node, dvr) == "dvr":
            start_l3(svc, topo, node, l3_ini(node, dvr))


DVR_MAC_LINE = "operating in DVR Mode with MAC"
DVR_MAC_TIMEOUT = 90.0


def wait_dvr_mac(svc: Services, node: Node) -> None:
    """Until the node's OVS agent has its DVR MAC, before the next one starts.

    neutron-server announces each new host's DVR MAC to every OVS agent, but an agent that does not know
    its own MAC yet ignores the announcement ("Self mac unknown, ignoring this dvr_mac_address_update()"):
    started together, the agents miss each other's MACs (measured: the network node registered none of
    the two compute nodes' MACs). One after the other, each learns those before it at start and those
    after it from the announcements."""
    path = os.path.join(svc.logs, f"ovs-agent-{node.name}.log")

    def ready() -> bool:
        with open(path, errors="replace") as fh:
            return DVR_MAC_LINE in fh.read()

    wait(f"the DVR MAC of {node.name}'s OVS agent", ready, DVR_MAC_TIMEOUT, alive=svc.exited(f"ovs-agent-{node.name}"))


def expected(topo: Topology, dvr: bool = False) -> int:
    """An OVS agent per node, the DHCP and L3 agents of the network node (and with DVR an L3 agent per compute)."""
    computes = sum(1 for n in topo.nodes if n.role == "compute")
    return len(topo.nodes) + 2 + (computes if dvr else 0)
