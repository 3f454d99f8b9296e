"""Fault kind of the ML2/OVN lab's metadata path (registered in faults/registry.py, area ovn).

* ovn-metadata-down: a compute node's neutron-ovn-metadata-agent frozen (SIGSTOP) with what it forked
  (its metadata worker, which serves haproxy's requests, and its privsep daemons), found from its recorded
  PID: the node's ovnmeta- haproxy still accepts, but nothing answers behind it, and the agent stops
  acknowledging the SB's nb_cfg (Neutron shows the "OVN Metadata agent" dead). Undo: SIGCONT.
"""

from __future__ import annotations

import os
import signal

from ...errors import LabError
from ...host import proc, undo
from ..neutron.ml2ovn.metadata import agent_name
from .neutron_base import neutron_rec
from .ovn import HINT, ovn_rec
from .registry import FaultContext, kind


def descendants(pid: int) -> list[int]:
    """Every process forked (transitively) by ``pid``, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                data = fh.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@kind(
    "ovn-metadata-down",
    "freeze a compute node's neutron-ovn-metadata-agent (SIGSTOP): its VMs get no metadata (ML2/OVN lab)",
    params=("node",),
    area="ovn",
)
def _metadata_down(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    node = ctx.node.name
    name = agent_name(node)
    rec = neutron_rec(ctx).proc(name)
    if rec is None:
        raise LabError(f"lab {ctx.state.lab} has no recorded process {name}", f"{HINT} (only compute nodes run one)")
    if not proc.is_running(rec):
        raise LabError(f"neutron-ovn-metadata-agent on {node} (pid {rec.pid}) is not running", "see `steth lab status`")
    ctx.claim(name)
    pids = [rec.pid, *descendants(rec.pid)]
    ctx.record(undo.argv(["kill", "-CONT", *(str(p) for p in pids)]))
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return f"neutron-ovn-metadata-agent on {node} (pid {rec.pid} and its {len(pids) - 1} children) stopped (SIGSTOP)"
