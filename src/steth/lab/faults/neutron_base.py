"""Lookups shared by the Neutron lab's fault kinds: the typed record, a VM by name, the API, OVS commands.

VMs and processes are the lab's records (lab/neutron/record.py). Neutron API changes are undone by
neutron_undo.py steps (``update_port`` back, a group deleted by name, a bounded wait for a port status).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from ...errors import LabError, UsageError
from ...host import proc, undo
from ..neutron.ml2ovs.config import ovs_rundir
from ..neutron.ml2ovs.plug import vif_argv
from ..neutron.record import NeutronRecord, RouterRecord, VMRecord
from .registry import FaultContext


def neutron_rec(ctx: FaultContext) -> NeutronRecord:
    """The lab's Neutron record; UsageError for a lab built without --neutron."""
    return NeutronRecord.require(ctx.state)


def lab_vm(ctx: FaultContext) -> VMRecord:
    """The VM named by --vm."""
    name = ctx.params["vm"]
    rec = neutron_rec(ctx)
    try:
        return rec.vm(name)
    except UsageError as exc:
        raise UsageError(f"lab {ctx.state.lab} has no VM {name!r}", exc.hint) from None


def neutron_network(ctx: FaultContext) -> str:
    """The id of the Neutron network named by --network (vlan or vxlan)."""
    key = ctx.params["network"]
    nets = neutron_rec(ctx).networks
    if key not in nets:
        raise UsageError(f"--network must be one of the Neutron lab's networks: {', '.join(sorted(nets))}")
    return nets[key]


def vsctl(ctx: FaultContext, node: str) -> list[str]:
    return ["ovs-vsctl", f"--db=unix:{ovs_rundir(ctx.state, node)}/db.sock", "--timeout=10"]


def conn(ctx: FaultContext) -> Any:
    from ..neutron.api import connection

    return connection(ctx.state)


def api(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One Neutron API call; an SDK error becomes a LabError naming what was being done."""
    from openstack import exceptions as osexc

    try:
        return call(*args, **kwargs)
    except osexc.SDKException as exc:
        raise LabError(f"Neutron API: {what} failed: {exc}") from exc


def claim(ctx: FaultContext, resource: str) -> None:
    """See FaultContext.claim (kept as a function for the kinds that call it so)."""
    ctx.claim(resource)


def plug_argv(ctx: FaultContext, vm: VMRecord, tag: str = "") -> list[str]:
    """ovs-vsctl adding the VM's interface to br-int as nova/os-vif does (external_ids for the agent)."""
    return vif_argv(ovs_rundir(ctx.state, vm.node), vm, vm.ovs_port, tag)


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


def router_rec(ctx: FaultContext) -> RouterRecord:
    router = neutron_rec(ctx).router
    if router is None:
        raise LabError(
            f"lab {ctx.state.lab} has no router",
            "rebuild the lab with a steth whose `lab up --neutron` makes one (L3 agent, external network)",
        )
    return router
