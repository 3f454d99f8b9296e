"""Reversible faults injected into the lab, recorded in its state with their undo steps.

A fault kind is a small function that, for each change it makes, first records
the step that reverses it (``ctx.record``) and then makes the change. Removing
a fault, or `steth lab down`, runs the recorded steps in reverse.

To add a kind: write a function ``def apply(ctx: FaultContext) -> str`` (returns
a one-line description) and register it with ``@kind(NAME, "help", params=(...))``
(``optional=(...)`` for parameters it may be given). The Neutron lab's kinds are in
faults_neutron.py, imported at the end of this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import LabError, UsageError
from ..host import netlink, proc, undo
from .state import LabState
from .topology import Node, PhysNet, Topology

PARAMS = ("node", "network", "to", "mtu", "rate", "vlans", "vm", "tag")


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


KINDS: dict[str, FaultKind] = {}


def kind(
    name: str, help: str, params: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Callable[[Callable[[FaultContext], str]], Callable]:
    """Register a kind; ``params`` must be given, ``optional`` may be (both reach ``ctx.params``)."""

    def register(fn: Callable[[FaultContext], str]) -> Callable[[FaultContext], str]:
        KINDS[name] = FaultKind(name, help, params, fn, optional)
        return fn

    return register


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


# ---- kinds ---------------------------------------------------------------


@kind("link-down", "take a node's link to a network down at the switch port (cable pulled)", params=("node", "network"))
def _link_down(ctx: FaultContext) -> str:
    port = ctx.topo.switch_port(ctx.node, ctx.network)
    # Undone in reverse: link up first, then forget the neighbour entries that failed
    # while it was down, so the first packets after repair are not lost to stale ARP state.
    for n in ctx.topo.nodes:
        ctx.record(undo.argv(["ip", "neigh", "flush", "dev", ctx.network.node_ifname], ctx.topo.node_ns(n)))
    ctx.record(undo.link_set(port, ctx.topo.switch_ns, state="up"))
    ctx.set_link(ctx.topo.switch_ns, port, state="down")
    return f"{ctx.node.name} {ctx.network.node_ifname} ({ctx.network.name}): switch port {port} down"


@kind("mtu", "lower the MTU of a node's interface on a network", params=("node", "network", "mtu"))
def _node_mtu(ctx: FaultContext) -> str:
    ns, ifname = ctx.topo.node_ns(ctx.node), ctx.network.node_ifname
    old = ctx.link_mtu(ns, ifname)
    ctx.record(undo.link_set(ifname, ns, mtu=old))
    ctx.set_link(ns, ifname, mtu=int(ctx.params["mtu"]))
    return f"{ctx.node.name} {ifname} ({ctx.network.name}): MTU {old} -> {ctx.params['mtu']}"


@kind("switch-mtu", "lower the MTU on the switch side of a node's link", params=("node", "network", "mtu"))
def _switch_mtu(ctx: FaultContext) -> str:
    ns, port = ctx.topo.switch_ns, ctx.topo.switch_port(ctx.node, ctx.network)
    old = ctx.link_mtu(ns, port)
    ctx.record(undo.link_set(port, ns, mtu=old))
    ctx.set_link(ns, port, mtu=int(ctx.params["mtu"]))
    return f"switch port {port} ({ctx.node.name}, {ctx.network.name}): MTU {old} -> {ctx.params['mtu']}"


@kind("drop", "drop traffic from --node to --to on a network, that direction only", params=("node", "to", "network"))
def _drop(ctx: FaultContext) -> str:
    # Dropped at the receiver, new flows only: the sender sees plain loss (no local
    # EPERM), and the receiver's own pings to the sender still get their replies.
    src = str(ctx.topo.address(ctx.node, ctx.network))
    ns = ctx.topo.node_ns(ctx.peer)
    rule = [
        "INPUT",
        "-s",
        src,
        "-i",
        ctx.network.node_ifname,
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-m",
        "comment",
        "--comment",
        f"steth-lab-fault-{ctx.fault['id']}",
        "-j",
        "DROP",
    ]
    ctx.record(undo.argv(["iptables", "-D", *rule], ns))
    ctx.run(["iptables", "-A", *rule], ns)
    return f"{ctx.node.name} -> {ctx.peer.name} on {ctx.network.name}: dropped (iptables in {ns})"


@kind(
    "vlan-prune",
    "drop VLANs (--vlans 105 or 100-110,200) on the tenant trunk's switch port toward --node "
    "(ebtables 802.1Q match in the switch namespace)",
    params=("node", "vlans"),
)
def _vlan_prune(ctx: FaultContext) -> str:
    # ebtables sees the tag though the bridge port moved it into metadata (no br_netfilter needed).
    # One chain per fault (its name is the marker: ebtables has no comment match), one DROP rule per VLAN
    # (the VLAN match takes no ranges), jumped to from FORWARD for frames leaving toward the node.
    from ..wire.vlan import format_ranges, parse_vlans

    try:
        vlans = parse_vlans(str(ctx.params["vlans"]))
    except ValueError as exc:
        raise UsageError(f"--vlans: {exc}") from None
    if len(vlans) > 4094:
        raise UsageError("--vlans: at most 4094 VLANs")
    net = next((n for n in ctx.topo.networks if n.name == "tenant"), None)
    if net is None:
        raise LabError("the lab has no tenant network")
    ns, port = ctx.topo.switch_ns, ctx.topo.switch_port(ctx.node, net)
    chain = f"STETH-{ctx.fault['id'].upper()}"
    ctx.record(undo.argv(["ebtables", "-X", chain], ns))
    ctx.run(["ebtables", "-N", chain, "-P", "RETURN"], ns)
    ctx.record(undo.argv(["ebtables", "-F", chain], ns))  # one undo for all the rules below (state saved once)
    # all the rules in one transaction (one ebtables call costs ~30 ms: 4094 of them would take minutes)
    rules = "".join(f"-A {chain} -p 802_1Q --vlan-id {v} -j DROP\n" for v in vlans)
    ctx.run(["ebtables-restore", "--noflush"], ns, input=f"*filter\n{rules}COMMIT\n")
    jump = ["FORWARD", "-o", port, "-p", "802_1Q", "-j", chain]
    ctx.record(undo.argv(["ebtables", "-D", *jump], ns))
    ctx.run(["ebtables", "-A", *jump], ns)
    plural = "s" if len(vlans) > 1 else ""
    return (
        f"VLAN{plural} {format_ranges(vlans)} dropped toward {ctx.node.name} {net.node_ifname} "
        f"(switch port {port}, ebtables chain {chain} in {ns})"
    )


def tbf_argv(ifname: str, bps: int) -> list[str]:
    """`tc qdisc add dev IF root tbf ...` capping egress of IF at ``bps`` bits/s.

    The bucket holds 10 ms at the rate (at least 16 kB, so a GSO segment always
    fits) and the queue at most 50 ms, which keeps TCP close to the rate.
    """
    burst = max(int(bps / 8 * 0.01), 16000)
    return [
        "tc",
        "qdisc",
        "add",
        "dev",
        ifname,
        "root",
        "tbf",
        "rate",
        f"{bps}bit",
        "burst",
        str(burst),
        "latency",
        "50ms",
    ]


@kind(
    "rate-limit",
    "cap a node's link to a network at --rate (tbf on the node's interface and on its switch port: both directions)",
    params=("node", "network", "rate"),
)
def _rate_limit(ctx: FaultContext) -> str:
    from ..wire.iperf import format_rate, parse_rate

    try:
        bps = parse_rate(str(ctx.params["rate"]))
    except ValueError as exc:
        raise UsageError(f"--rate: {exc}") from None
    for other in ctx.state.faults:
        if (
            other is not ctx.fault
            and other["kind"] == "rate-limit"
            and other["params"].get("node") == ctx.node.name
            and other["params"].get("network") == ctx.network.name
        ):
            raise UsageError(
                f"{ctx.node.name} on {ctx.network.name} is already rate-limited ({other['id']})",
                f"remove it first: steth lab fault remove {other['id']}",
            )
    # traffic from the node: egress of its interface; traffic to it: egress of its switch port
    for ns, ifname in (
        (ctx.topo.node_ns(ctx.node), ctx.network.node_ifname),
        (ctx.topo.switch_ns, ctx.topo.switch_port(ctx.node, ctx.network)),
    ):
        ctx.record(undo.argv(["tc", "qdisc", "del", "dev", ifname, "root"], ns))
        ctx.run(tbf_argv(ifname, bps), ns)
    return (
        f"{ctx.node.name} {ctx.network.node_ifname} ({ctx.network.name}): capped at {format_rate(bps)} "
        f"both ways (tbf on {ctx.network.node_ifname} and switch port "
        f"{ctx.topo.switch_port(ctx.node, ctx.network)})"
    )


# Neutron lab kinds live in their own module; importing it registers them (it needs `kind` above),
# and its Neutron API undo steps (lab/neutron_undo.py) with host/undo.py.
from . import faults_neutron  # noqa: E402

NEUTRON_KINDS = sorted(n for n, k in KINDS.items() if k.apply.__module__ == faults_neutron.__name__)
from .ovn import faults as faults_ovn  # noqa: E402,F401 - registers the ML2/OVN lab's kinds
