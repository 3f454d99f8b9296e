"""The engine of `steth check all`: the pre-deployment questions in one go, one Step per answer.

Agents alive, Neutron's agents alive and their Open vSwitch bridges as configured (with a cloud),
mesh and MTU on every network, VLAN trunks, a short bandwidth round. Each step's verdict and
findings come from the check modules next to this one; this module only orders them and
times them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ...errors import AgentUnreachableError, OpenStackUnreachable, UsageError
from ...wire.models import Verdict, worst
from ...wire.vlan import format_ranges
from .. import api
from ..client import AgentClient
from ..config import ControllerConfig, NodeConfig
from ..discovery import nodes_from_agents
from . import bandwidth, dvr_agents, lb_nodes, mesh, mtu, neutron_agents, ovn_metadata_agents, ovs_bridges, vlan
from .bandwidth_rounds import round_robin
from .cloud_facts import NO_CLOUD, Cloud, vlan_plan
from .nodes import NodeView, discover

Progress = Callable[[str], None]


@dataclass
class Step:
    """One row of `check all`: which check, on what, its verdict and findings, how long it took."""

    check: str
    scope: str
    verdict: Verdict
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unreachable: bool = False


@dataclass
class Scope:
    """What `check all` covers: nodes and networks, and whether --nodes narrowed the nodes."""

    config: ControllerConfig
    nodes: list[NodeConfig]
    networks: list[str]
    quick: bool = False
    selected: bool = False


@dataclass
class Measurements:
    """The rows behind the steps, for the report: MTU per pair, VLANs per trunk, bandwidth per pair."""

    mtu_rows: list[mtu.MtuRow] = field(default_factory=list)
    vlan_reports: dict[str, vlan.VlanReport] = field(default_factory=dict)  # network -> report
    bandwidth_rows: list[bandwidth.Row] = field(default_factory=list)


@dataclass
class SuiteResult:
    steps: list[Step]
    views: list[NodeView]
    mesh_rows: list[mesh.MeshRow]
    measured: Measurements = field(default_factory=Measurements)


def verdict_of(verdicts: Iterable[Verdict], unreachable: bool = False) -> Verdict:
    """The worst of several verdicts; error when an agent was unreachable; skipped when there are none."""
    vs = list(verdicts)
    if unreachable:
        return Verdict.ERROR
    return worst(vs) if vs else Verdict.SKIPPED


def neutron_step(cloud: Cloud) -> Step:
    if cloud.skipped:
        return Step("neutron-agents", "-", Verdict.SKIPPED, [cloud.skipped])
    if cloud.error is not None:
        return Step(
            "neutron-agents",
            cloud.name,
            Verdict.ERROR,
            [str(cloud.error)],
            unreachable=isinstance(cloud.error, OpenStackUnreachable),
        )
    verdict, lines = neutron_agents.findings(cloud.agents or [])
    return Step("neutron-agents", f"{cloud.name}: {len(cloud.agents or [])} agents", verdict, lines)


def discover_nodes(config: ControllerConfig, cloud: Cloud) -> tuple[ControllerConfig, Step]:
    """A config without [nodes]: its nodes from Neutron's agents (see controller/discovery.py)."""
    if cloud.error is not None:
        raise cloud.error
    if not cloud.usable:
        raise UsageError(
            f"{config.source} lists no [nodes] and {NO_CLOUD} to find them from",
            "add [nodes] NAME = AGENT_ADDRESS, or give --os-cloud / OS_CLOUD: nodes then come from "
            "the hosts of Neutron's agents",
        )
    nodes, problems = nodes_from_agents(cloud.agents or [], config.discovery_address, config.agent_port)
    if not nodes:
        raise UsageError(
            f"no node found from Neutron's agents: {'; '.join(problems) or 'Neutron lists no agent'}",
            "add [nodes] to the config, or set discovery_address = {host} if host names resolve",
        )
    found = [f"{n.name} at {n.url}" for n in nodes.values()]
    step = Step(
        "discovery",
        f"{len(nodes)} nodes from Neutron (discovery_address {config.discovery_address})",
        Verdict.FAIL if problems else Verdict.OK,
        problems + [f"nodes from Neutron's agents: {', '.join(found)}"],
    )
    return dataclasses.replace(config, nodes=nodes), step


async def ovs_step(client: AgentClient, cloud: Cloud, views: list[NodeView], selected: bool) -> Step:
    """Each OVS agent's bridges on its node, from the node's /v1/ovs/show and its interfaces (/v1/info)."""
    if not cloud.usable:
        reason = cloud.skipped or "Neutron's agents could not be listed (see neutron-agents)"
        return Step("ovs-bridges", "-", Verdict.SKIPPED, [reason])
    ovs_agents = [a for a in cloud.agents or [] if a.is_ovs]
    if not ovs_agents:
        return Step("ovs-bridges", "-", Verdict.SKIPPED, ["Neutron lists no Open vSwitch agent"])
    by_name = {v.name: v for v in views}
    wanted = [by_name[a.host] for a in ovs_agents if a.host in by_name and by_name[a.host].alive]
    outcomes = await client.fan_out([v.node for v in wanted], lambda n: api.ovs_show(client, n))
    states = {
        v.name: ovs_bridges.NodeState(error=v.error.message if v.error else "agent unreachable")
        for v in views
        if not v.alive
    }
    for o in outcomes:
        info = by_name[o.node.name].info
        states[o.node.name] = ovs_bridges.NodeState(
            show=o.value,
            interfaces=info.interfaces if info else None,
            error=o.error.message if o.error else None,
        )
    found = ovs_bridges.check(ovs_agents, states, set(by_name) if selected else None)
    hosts = sorted({a.host for a in ovs_agents if not selected or a.host in by_name})
    bad = [f.text for f in found if f.verdict is not Verdict.OK]
    unreachable = any(not by_name[h].alive for h in hosts if h in by_name) or any(
        isinstance(o.error, AgentUnreachableError) for o in outcomes
    )
    good = [f.text for f in found if f.verdict is Verdict.OK]
    if good and not bad:  # the per-node lines say what was verified (the HTML report lists them)
        good.insert(0, f"all {len(good)} nodes have the bridges, NICs and tunnel addresses their OVS agent expects")
    return Step(
        "ovs-bridges",
        f"{len(hosts)} OVS agents",
        verdict_of(f.verdict for f in found),
        bad or good or ["no Open vSwitch agent in scope"],
        unreachable=unreachable,
    )


async def linuxbridge_step(client: AgentClient, cloud: Cloud, views: list[NodeView], selected: bool) -> Step:
    """Each Linux bridge agent's mapped interfaces and VXLAN devices on its node (/v1/linuxbridge/show)."""
    lb_agents = [a for a in cloud.agents or [] if lb_nodes.is_linuxbridge(a)] if cloud.usable else []
    if not lb_agents:
        return Step("linuxbridge", "-", Verdict.SKIPPED, [cloud.skipped or "Neutron lists no Linux bridge agent"])
    by_name = {v.name: v for v in views}
    wanted = [a for a in lb_agents if a.host in by_name]
    alive = [by_name[a.host].node for a in wanted if by_name[a.host].alive]
    outcomes = {o.node.name: o for o in await client.fan_out(alive, lambda n: api.linuxbridge_show(client, n))}
    found = []
    for a in wanted:
        o = outcomes.get(a.host)
        if o is None:
            found.append(lb_nodes.check_node(a, None, "its steth agent is unreachable"))
        else:
            found.append(lb_nodes.check_node(a, None if o.error else o.value, o.error.message if o.error else None))
    missing = [a.host for a in lb_agents if a.host not in by_name and not selected]
    found += [ovs_bridges.Finding(Verdict.ERROR, f"{h}: no steth agent configured") for h in missing]
    return Step(
        "linuxbridge",
        f"{len(found)} Linux bridge agents",
        verdict_of(f.verdict for f in found),
        [f.text for f in found],
        unreachable=any(f.verdict is Verdict.ERROR for f in found),
    )


def agents_step(views: list[NodeView]) -> Step:
    dead = [v.name for v in views if not v.alive]
    return Step(
        "agents",
        f"{len(views)} nodes",
        Verdict.ERROR if dead else Verdict.OK,
        [f"agent {v.name} at {v.node.url}: {v.error.message}" for v in views if v.error]
        or [f"all {len(views)} agents alive"],
        unreachable=bool(dead),
    )


async def mesh_step(client: AgentClient, scope: Scope, views: list[NodeView]) -> tuple[Step, list[mesh.MeshRow]]:
    dead = [v.name for v in views if not v.alive]
    probe = mesh.ProbeSettings(count=1 if scope.quick else 3)
    rows = await mesh.run(client, views, scope.networks, probe, mesh.Thresholds())
    verdict = verdict_of((r.verdict for r in rows), bool(dead))
    return Step("mesh", ", ".join(scope.networks), verdict, mesh.findings(rows, dead), unreachable=bool(dead)), rows


async def mtu_step(client: AgentClient, scope: Scope, views: list[NodeView], measured: Measurements) -> Step:
    config, networks = scope.config, scope.networks
    dead = [v.name for v in views if not v.alive]
    expected = mtu.expected_mtus(views, networks, config.mtu, None)
    rows = mtu.interface_rows(views, networks, expected) + await mtu.run(client, views, networks, expected)
    measured.mtu_rows = rows
    family: dict[str, int] = {n: config.networks[n].version for n in networks}
    found = [f"agent {n} is unreachable: its paths were not measured" for n in dead]
    found += mtu.findings(rows, config.tunnels, config.neutron_mtu, expected, family)
    return Step(
        "mtu",
        ", ".join(f"{n} {m}" for n, m in expected.items()),
        verdict_of((r.verdict for r in rows), bool(dead)),
        found or ["every path carries the expected MTU"],
        unreachable=bool(dead),
    )


async def vlan_steps(
    client: AgentClient, scope: Scope, cloud: Cloud, views: list[NodeView], progress: Progress, measured: Measurements
) -> list[Step]:
    """One step per network with VLANs to verify (from [vlans], Neutron's ranges), or one that says why none."""
    plan, notes = vlan_plan(scope.config, cloud, scope.networks)
    dead = any(not v.alive for v in views)
    live = [v.node for v in views if v.alive]
    steps = []
    for net, (vlans, sources) in plan.items():
        t = time.perf_counter()
        progress(f"vlan {net}")
        if len(live) < 2:
            reason = f"a trunk check needs two nodes; {len(live)} agent alive of {len(views)}"
            verdict = Verdict.ERROR if dead else Verdict.SKIPPED
            steps.append(Step("vlan", f"{net}: {format_ranges(vlans)}", verdict, [reason], unreachable=dead))
            continue
        report = await vlan.run_check(client, scope.config, live, vlans, network=net)
        measured.vlan_reports[net] = report
        verdict = Verdict.FAIL if report.has_failures else Verdict.ERROR if report.has_errors else Verdict.OK
        origin = "" if sources == ["[vlans]"] else f" (from {', '.join(sources)})"
        steps.append(
            Step(
                "vlan",
                f"{net}: {format_ranges(vlans)}{origin}",
                verdict,
                report.summary(),
                time.perf_counter() - t,
                bool(report.unreachable),
            )
        )
    if not plan:
        none = (
            f"no VLANs to verify on {', '.join(scope.networks)}: none in [vlans] "
            "nor in Neutron's network_vlan_ranges mapped by physnet_networks"
        )
        steps.append(Step("vlan", "-", Verdict.SKIPPED, [*notes, none]))
    elif notes:
        steps.append(Step("vlan", "unmapped physnets", Verdict.SKIPPED, notes))
    return steps


async def bandwidth_steps(
    client: AgentClient, scope: Scope, views: list[NodeView], progress: Progress, measured: Measurements
) -> list[Step]:
    """One short round (every node in at most one 2 s test) per network with a [bandwidth] target."""
    if scope.quick:
        return [Step("bandwidth", "-", Verdict.SKIPPED, ["skipped with --quick"])]
    config, networks = scope.config, scope.networks
    nets = [n for n in networks if n in config.bandwidth] or [n for n in networks if n != config.management_network][:1]
    rounds = round_robin([v.name for v in views if v.alive])[:1]
    steps = []
    for net in nets:
        t = time.perf_counter()
        progress(f"bandwidth {net}")
        report = bandwidth.Report()
        await bandwidth.BandwidthCheck(client, config, bandwidth.Options(duration=2.0)).run(net, rounds, report)
        measured.bandwidth_rows += report.rows
        steps.append(
            Step(
                "bandwidth",
                f"{net}: 1 round, 2 s",
                verdict_of(r.verdict for r in report.rows),
                bandwidth.summary(report.rows) or ["no pair to test"],
                time.perf_counter() - t,
                bool(report.unreachable),
            )
        )
    return steps


async def run(
    client: AgentClient, scope: Scope, cloud: Cloud, progress: Progress, discovered: Step | None = None
) -> SuiteResult:
    """Every step in order; the steps before the first check are Neutron's (asked before, timed in ``cloud``)."""
    steps: list[Step] = [discovered] if discovered else []

    t = time.perf_counter()
    progress("agents")
    views = await discover(client, scope.config, scope.nodes, scope.networks)
    steps.append(dataclasses.replace(agents_step(views), seconds=time.perf_counter() - t))

    t = time.perf_counter()
    progress("neutron agents")
    steps.append(dataclasses.replace(neutron_step(cloud), seconds=time.perf_counter() - t + cloud.seconds))
    if cloud.usable and dvr_agents.is_dvr(cloud.agents or []):  # distributed routers: agent modes by node role
        verdict, lines = dvr_agents.findings(cloud.agents or [])
        steps.append(Step("dvr-agents", f"{cloud.name}: L3 agent modes", verdict, lines))
    if cloud.usable and ovn_metadata_agents.is_ovn(cloud.agents or []):  # ML2/OVN: metadata agent per chassis
        verdict, lines = ovn_metadata_agents.findings(cloud.agents or [])
        steps.append(Step("ovn-metadata", f"{cloud.name}: OVN Metadata agents", verdict, lines))

    t = time.perf_counter()
    progress("ovs bridges")
    step = await ovs_step(client, cloud, views, scope.selected)
    steps.append(dataclasses.replace(step, seconds=time.perf_counter() - t))

    t = time.perf_counter()
    progress("linux bridges")
    step = await linuxbridge_step(client, cloud, views, scope.selected)
    steps.append(dataclasses.replace(step, seconds=time.perf_counter() - t))

    t = time.perf_counter()
    progress("mesh")
    step, mesh_rows = await mesh_step(client, scope, views)
    steps.append(dataclasses.replace(step, seconds=time.perf_counter() - t))

    t = time.perf_counter()
    progress("mtu")
    measured = Measurements()
    step = await mtu_step(client, scope, views, measured)
    steps.append(dataclasses.replace(step, seconds=time.perf_counter() - t))

    steps += await vlan_steps(client, scope, cloud, views, progress, measured)
    steps += await bandwidth_steps(client, scope, views, progress, measured)
    return SuiteResult(steps, views, mesh_rows, measured)
