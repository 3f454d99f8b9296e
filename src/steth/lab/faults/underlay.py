"""Underlay fault kinds: the lab's physical networks (links, MTUs, drops, VLAN trunks, bandwidth)."""

from __future__ import annotations

from ...errors import LabError, UsageError
from ...host import undo
from .registry import FaultContext, kind


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
