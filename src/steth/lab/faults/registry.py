"""The one registry of the lab's reversible faults, recorded in the lab state with their undo steps.

A fault kind is a small function that, for each change it makes, first records the step that reverses
it (``ctx.record``) and then makes the change. Removing a fault, or `steth lab down`, runs the recorded
steps in reverse.

To add a kind: in the module of its area (underlay.py, dataplane.py, ports.py, agents.py, l3.py), write
``def _apply(ctx: FaultContext) -> str`` (returns a one-line description) and register it with
``@kind(NAME, "help", params=(...), area=...)`` (``optional=(...)`` for parameters it may be given).
Kind modules import this module only; the package imports every kind module (faults/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import LabError, UsageError
from ...host import netlink, proc, undo
from ..state import LabState
from ..topology import Node, PhysNet, Topology

PARAMS = ("node", "network", "to", "mtu", "rate", "vlans", "vm", "tag")
# neutron: a lab built with --neutron; dvr: --neutron --dvr; ovn, linuxbridge: --neutron --backend
AREAS = ("underlay", "neutron", "ovn", "dvr", "linuxbridge")


@dataclass
class FaultContext:
    topo: Topology
    state: LabState
    fault: dict[str, Any]
    params: dict[str, Any]

    def record(self, step: undo.Step) -> None:
        """Record the undo of the next change (saved before the change is made)."""
        self.fault["undo"].append(step)
        self.state.save()

    def claim(self, resource: str) -> None:
        """One fault at a time per resource (an agent, a link's MTU): two would undo each other's change
        in the wrong order. The claim is kept in the fault's record."""
        for other in self.state.faults:
            if other is not self.fault and resource in other.get("claims", []):
                raise UsageError(
                    f"{resource} is already changed by fault {other['id']} ({other['kind']})",
                    f"remove it first: steth lab fault remove {other['id']}",
                )
        self.fault.setdefault("claims", []).append(resource)

    # convenient lookups
    @property
    def node(self) -> Node:
        return self.topo.node(self.params["node"])

    @property
    def peer(self) -> Node:
        return self.topo.node(self.params["to"])

    @property
    def network(self) -> PhysNet:
        name = self.params["network"]
        for net in self.topo.networks:
            if net.name == name:
                return net
        raise UsageError(f"lab has no network {name!r}", f"networks: {', '.join(n.name for n in self.topo.networks)}")

    def run(self, argv: list[str], netns: str | None, input: str | None = None) -> None:
        done = proc.run(argv, netns=netns, timeout=30, input=input)
        if done.returncode != 0:
            raise LabError(f"{' '.join(argv)} failed in {netns or 'the host'}: {done.stderr.strip()}")

    def set_link(self, netns: str, ifname: str, **attrs: Any) -> None:
        with netlink.iproute(netns) as ipr:
            found = ipr.link_lookup(ifname=ifname)
            if not found:
                raise LabError(f"no interface {ifname} in {netns}")
            ipr.link("set", index=found[0], **attrs)

    def link_mtu(self, netns: str, ifname: str) -> int:
        iface = netlink.get_interface(ifname, netns)
        if iface is None:
            raise LabError(f"no interface {ifname} in {netns}")
        return iface.mtu


@dataclass(frozen=True)
class FaultKind:
    name: str
    help: str
    params: tuple[str, ...]
    apply: Callable[[FaultContext], str]
    optional: tuple[str, ...] = ()
    area: str = "underlay"


KINDS: dict[str, FaultKind] = {}


def kind(
    name: str, help: str, params: tuple[str, ...], optional: tuple[str, ...] = (), area: str = "underlay"
) -> Callable[[Callable[[FaultContext], str]], Callable[[FaultContext], str]]:
    """Register a kind; ``params`` must be given, ``optional`` may be (both reach ``ctx.params``)."""
    if area not in AREAS:
        raise ValueError(f"fault kind {name}: unknown area {area!r}")

    def register(fn: Callable[[FaultContext], str]) -> Callable[[FaultContext], str]:
        if name in KINDS and KINDS[name].apply is not fn:
            raise ValueError(f"fault kind {name} registered twice")
        KINDS[name] = FaultKind(name, help, params, fn, optional, area)
        return fn

    return register


def kinds_in(area: str) -> list[str]:
    """Names of the registered kinds of one area, sorted."""
    return sorted(n for n, k in KINDS.items() if k.area == area)


def _next_id(state: LabState) -> str:
    used = {f["id"] for f in state.faults}
    n = 1
    while f"f{n}" in used:
        n += 1
    return f"f{n}"


def add(state: LabState, topo: Topology, kind_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Inject one fault; on failure undo whatever part of it was made."""
    if kind_name not in KINDS:
        raise UsageError(f"unknown fault kind {kind_name!r}", f"kinds: {', '.join(sorted(KINDS))}")
    fk = KINDS[kind_name]
    missing = [p for p in fk.params if params.get(p) in (None, "")]
    if missing:
        raise UsageError(f"fault {kind_name} needs --{' --'.join(missing)}", f"{kind_name}: {fk.help}")
    used = {k: v for k, v in params.items() if k in fk.params or (k in fk.optional and v not in (None, ""))}
    fault: dict[str, Any] = {"id": _next_id(state), "kind": kind_name, "params": used, "undo": [], "description": ""}
    state.faults.append(fault)
    state.save()
    ctx = FaultContext(topo, state, fault, used)
    try:
        fault["description"] = fk.apply(ctx)
    except BaseException:
        undo.run_all(fault["undo"])
        state.faults.remove(fault)
        state.save()
        raise
    state.save()
    return fault


def remove(state: LabState, fault_id: str) -> list[str]:
    for fault in state.faults:
        if fault["id"] == fault_id:
            problems = undo.run_all(fault["undo"])
            state.faults.remove(fault)
            state.save()
            return problems
    raise UsageError(
        f"lab {state.lab} has no fault {fault_id!r}",
        f"faults: {', '.join(f['id'] for f in state.faults) or 'none'} (see `steth lab fault list`)",
    )


def remove_all(state: LabState) -> list[str]:
    problems: list[str] = []
    for fault in list(reversed(state.faults)):
        problems += remove(state, fault["id"])
    return problems
