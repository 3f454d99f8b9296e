"""A node's own view of named network namespaces, for labs whose nodes share one machine (DVR).

Neutron's agents name namespaces machine-wide (``ip netns`` uses /run/netns): with distributed routers
every compute node's L3 agent makes ``qrouter-<router id>`` and ``fip-<external network id>``, so two
lab compute nodes would make the same name. Each compute node therefore gets a *view*: a process
(the holder, recorded like every lab process) in the node's network namespace and in a private mount
namespace where ``<labdir>/neutron/netns-<node>`` is bind-mounted on /run/netns (and /sys is the
node's, as ``ip netns exec`` does). The node's L3 agent and its steth-agent run in that view (joined
with ``nsenter --target <holder> --mount --net``), so ``ip netns`` there lists only that node's
namespaces, as on a real compute node. The network node keeps the host's /run/netns (one node per view).

From outside (lab status, faults, teardown) a namespace of a view is reached through the holder:
``/proc/<holder>/root/run/netns/<name>`` (a path pyroute2 and ``nsenter --net=`` accept). When the
holder and every process of the view are gone, the mount namespace and its namespaces go with them.
"""

from __future__ import annotations

import os

from ....errors import LabError
from ....host import proc
from ...state import LabState
from ...topology import Node, Topology
from ..record import NeutronRecord
from ..services import Services, wait

HOLDER_PREFIX = "view-"
ROOT_NETNS = "/run/netns"


def holder_name(node: str) -> str:
    return f"{HOLDER_PREFIX}{node}"


def view_dir(rec: NeutronRecord, node: str) -> str:
    return os.path.join(rec.dir, f"netns-{node}")


def holder_pid(rec: NeutronRecord, node: str) -> int | None:
    """PID of the node's view holder while it runs, else None (the node uses the host's /run/netns)."""
    r = rec.proc(holder_name(node))
    return r.pid if r is not None and proc.is_running(r) else None


def _mounted(pid: int, directory: str) -> bool:
    inner, outer = os.stat(f"/proc/{pid}/root{ROOT_NETNS}"), os.stat(directory)
    return (inner.st_dev, inner.st_ino) == (outer.st_dev, outer.st_ino)


def start(svc: Services, topo: Topology, node: Node) -> int:
    """The node's view holder (recorded); returns its PID once /run/netns is the node's directory there."""
    directory = view_dir(svc.rec, node.name)
    os.makedirs(directory, exist_ok=True)
    script = (
        f"mount --bind {directory} {ROOT_NETNS} && umount -l /sys && mount -t sysfs sysfs /sys && exec sleep infinity"
    )
    name = holder_name(node.name)
    rec = svc.spawn(
        name, ["unshare", "--mount", "--propagation", "slave", "sh", "-c", script], netns=topo.node_ns(node)
    )
    wait(f"namespace view of {node.name}", lambda: _mounted(rec.pid, directory), 10, alive=svc.exited(name))
    return rec.pid


def enter(pid: int) -> list[str]:
    """argv prefix running a command in a view (its mount and network namespaces)."""
    return ["nsenter", f"--target={pid}", "--mount", "--net"]


def netns_path(rec: NeutronRecord | None, node: str | None, name: str) -> str:
    """Where the named namespace ``name`` of ``node`` is, seen from the host (its view's, or /run/netns)."""
    pid = holder_pid(rec, node) if rec is not None and node else None
    return f"/proc/{pid}/root{ROOT_NETNS}/{name}" if pid else f"{ROOT_NETNS}/{name}"


def list_netns(rec: NeutronRecord | None, node: str | None) -> list[str]:
    """Named namespaces of ``node`` (its view's, or the host's)."""
    pid = holder_pid(rec, node) if rec is not None and node else None
    where = f"/proc/{pid}/root{ROOT_NETNS}" if pid else ROOT_NETNS
    try:
        return sorted(os.listdir(where))
    except OSError:
        return []


def move_agent(state: LabState, topo: Topology, node: Node, pid: int) -> None:
    """Restart the node's steth-agent inside its view (same arguments), so its probes see that node's namespaces."""
    old = state.agent(node.name)
    if old is None:
        raise LabError(f"the steth-agent of {node.name} is not recorded", "rebuild the lab")
    argv = list(old.argv)
    if argv[:3] == ["ip", "netns", "exec"]:
        argv = argv[4:]
    proc.terminate(old)
    logs = os.path.join(state.directory, "logs")
    new = proc.spawn([*enter(pid), *argv], log_path=os.path.join(logs, f"agent-{node.name}.log"))
    state.agents[node.name] = new.to_json()
    state.save()
