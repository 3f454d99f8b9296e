"""Fault kinds of the lab's Neutron agents: frozen (SIGSTOP), alive but silent, as a hung agent looks."""

from __future__ import annotations

import os
import signal

from ...errors import LabError
from ...host import proc, undo
from .neutron_base import claim, neutron_rec
from .registry import FaultContext, kind


def freeze(ctx: FaultContext, proc_name: str, what: str, hint: str) -> str:
    """SIGSTOP a recorded lab process (alive but silent: Neutron marks its agent dead); undo SIGCONT."""
    rec = neutron_rec(ctx).proc(proc_name)
    if rec is None:
        raise LabError(f"lab {ctx.state.lab} has no recorded process {proc_name}", hint)
    if not proc.is_running(rec):
        raise LabError(f"{what} ({proc_name}, pid {rec.pid}) is not running", "see `steth lab status`")
    claim(ctx, proc_name)
    ctx.record(undo.argv(["kill", "-CONT", str(rec.pid)]))
    os.kill(rec.pid, signal.SIGSTOP)
    return f"{what} (pid {rec.pid}) stopped (SIGSTOP): Neutron marks it dead after agent_down_time"


@kind(
    "ovs-agent-down",
    "freeze a node's neutron-openvswitch-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=("node",),
    area="neutron",
)
def _ovs_agent_down(ctx: FaultContext) -> str:
    node = ctx.node
    return freeze(
        ctx,
        f"ovs-agent-{node.name}",
        f"neutron-openvswitch-agent on {node.name}",
        "build the lab with `steth lab up --neutron`",
    )


@kind(
    "l3-agent-down",
    "freeze the network node's neutron-l3-agent (SIGSTOP; Neutron shows it dead after 11 s)",
    params=(),
    area="neutron",
)
def _l3_agent_down(ctx: FaultContext) -> str:
    return freeze(
        ctx,
        "l3-agent-network",
        "neutron-l3-agent on network",
        "this lab has no L3 agent (router); rebuild it with a steth that runs one",
    )
