"""`steth check all`: the pre-deployment questions in one command, one summary table, one exit code."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field

from ...errors import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_UNREACHABLE,
    AgentUnreachableError,
    OpenStackError,
    OpenStackUnreachable,
    UsageError,
)
from ...openstack.adapter import NeutronAgent
from ...report import html
from ...wire.models import Verdict, worst
from .. import api
from ..checks import bandwidth, mesh, mtu, neutron_agents, ovs_bridges, vlan
from ..checks.nodes import NodeView, discover, select_networks
from ..client import AgentClient, run
from ..config import ControllerConfig, vlans_by_network
from ..config import load as load_config
from ..discovery import nodes_from_agents
from ..inventory import select_nodes
from .base import StethLister
from .check import add_scope_options, mesh_page
from .openstack import add_openstack_options, connect_from

NO_CLOUD = "no cloud configured (--os-cloud, OS_CLOUD or OS_AUTH_URL)"


@dataclass
class Step:
    check: str
    scope: str
    verdict: Verdict
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unreachable: bool = False


@dataclass
class Cloud:
    """What Neutron told us before the agents are asked (or why it could not)."""

    agents: list[NeutronAgent] | None = None
    vlan_ranges: dict[str, list[int]] | None = None  # physnet -> VLANs (segment ranges), None: not given
    error: OpenStackError | None = None
    skipped: str | None = None
    name: str = ""
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        return self.agents is not None


def cloud_configured(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "os_cloud", None)
        or os.environ.get("OS_CLOUD")
        or getattr(args, "os_auth_url", None)
        or os.environ.get("OS_AUTH_URL")
        or getattr(args, "os_network_endpoint_override", None)
    )


def ask_cloud(args: argparse.Namespace) -> Cloud:
    """Neutron's agents (and VLAN segment ranges when the extension is on); a failure is kept, not raised."""
    if not cloud_configured(args):
        return Cloud(skipped=NO_CLOUD)
    name = getattr(args, "os_cloud", None) or os.environ.get("OS_CLOUD") or "OS_* variables"
    try:
        conn = connect_from(args)
        agents = conn.agents()
        try:
            ranges = conn.vlan_ranges()
        except OpenStackError:
            ranges = None  # an optional extra: the agents answer is what matters
        return Cloud(agents=agents, vlan_ranges=ranges, name=name)
    except OpenStackError as exc:
        return Cloud(error=exc, name=name)


def _verdict(verdicts, unreachable: bool = False) -> Verdict:
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


async def ovs_step(client: AgentClient, cloud: Cloud, views: list[NodeView], selected: bool) -> Step:
    """Each OVS agent's bridges on its node, from the node's /v1/ovs/show and its interfaces (/v1/info)."""
    if not cloud.usable:
        return Step(
            "ovs-bridges",
            "-",
            Verdict.SKIPPED,
            [cloud.skipped or "Neutron's agents could not be listed (see neutron-agents)"],
        )
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
        view = by_name[o.node.name]
        states[o.node.name] = ovs_bridges.NodeState(
            show=o.value,
            interfaces=view.info.interfaces if view.info else None,
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
        _verdict(f.verdict for f in found),
        bad or good or ["no Open vSwitch agent in scope"],
        unreachable=unreachable,
    )


VlanPlan = dict[str, tuple[list[int], list[str]]]  # network -> (VLANs, where they come from)


def vlan_plan(config: ControllerConfig, cloud: Cloud, networks: list[str]) -> tuple[VlanPlan, list[str]]:
    """network -> (VLANs, sources) for the selected networks, and notes about physnets left unchecked.

    Sources: [vlans], [neutron] network_vlan_ranges, and the cloud's VLAN segment ranges when it shows them;
    a physnet reaches a network through [neutron] physnet_networks."""
    neutron = dict(config.neutron_vlans)
    from_cloud = set()
    for physnet, vlans in (cloud.vlan_ranges or {}).items():
        neutron[physnet] = sorted(set(neutron.get(physnet, [])) | set(vlans))
        from_cloud.add(physnet)
    plan = vlans_by_network(dataclasses.replace(config, neutron_vlans=neutron))
    for _, sources in plan.values():
        sources[:] = [
            src.replace("(network_vlan_ranges)", "(Neutron segment ranges)")
            if src.split()[0] in from_cloud and src.split()[0] not in config.neutron_vlans
            else src
            for src in sources
        ]
    notes = [
        f"physnet {p}: VLANs {vlan.format_ranges(v)} of Neutron's network_vlan_ranges are not checked: "
        f"map it to a network with [neutron] physnet_networks = {p}:NETWORK"
        for p, v in sorted(neutron.items())
        if v and p not in config.physnet_networks
    ]
    return {n: plan[n] for n in networks if n in plan}, notes


async def _all(
    config: ControllerConfig,
    nodes,
    networks: list[str],
    quick: bool,
    progress,
    cloud: Cloud | None = None,
    selected: bool = False,
    discovered: Step | None = None,
) -> tuple[list[Step], list[NodeView], list[mesh.MeshRow]]:
    cloud = cloud or Cloud(skipped=NO_CLOUD)
    steps: list[Step] = [discovered] if discovered else []
    async with AgentClient(config) as client:
        t = time.perf_counter()
        progress("agents")
        views = await discover(client, config, nodes, networks)
        dead = [v.name for v in views if not v.alive]
        steps.append(
            Step(
                "agents",
                f"{len(views)} nodes",
                Verdict.ERROR if dead else Verdict.OK,
                [f"agent {v.name} at {v.node.url}: {v.error.message}" for v in views if v.error]
                or [f"all {len(views)} agents alive"],
                time.perf_counter() - t,
                bool(dead),
            )
        )

        t = time.perf_counter()
        progress("neutron agents")
        step = neutron_step(cloud)
        step.seconds = time.perf_counter() - t + cloud.seconds
        steps.append(step)

        t = time.perf_counter()
        progress("ovs bridges")
        step = await ovs_step(client, cloud, views, selected)
        step.seconds = time.perf_counter() - t
        steps.append(step)

        t = time.perf_counter()
        progress("mesh")
        probe = mesh.ProbeSettings(count=1 if quick else 3)
        mesh_rows = await mesh.run(client, views, networks, probe, mesh.Thresholds())
        steps.append(
            Step(
                "mesh",
                ", ".join(networks),
                _verdict((r.verdict for r in mesh_rows), bool(dead)),
                mesh.findings(mesh_rows, dead),
                time.perf_counter() - t,
                bool(dead),
            )
        )

        t = time.perf_counter()
        progress("mtu")
        expected = mtu.expected_mtus(views, networks, config.mtu, None)
        mtu_rows = mtu.interface_rows(views, networks, expected) + await mtu.run(client, views, networks, expected)
        family = {n: config.networks[n].version for n in networks}
        found = [f"agent {n} is unreachable: its paths were not measured" for n in dead]
        found += mtu.findings(mtu_rows, config.tunnels, config.neutron_mtu, expected, family)
        steps.append(
            Step(
                "mtu",
                ", ".join(f"{n} {m}" for n, m in expected.items()),
                _verdict((r.verdict for r in mtu_rows), bool(dead)),
                found or ["every path carries the expected MTU"],
                time.perf_counter() - t,
                bool(dead),
            )
        )

        plan, notes = vlan_plan(config, cloud, networks)
        live = [v.node for v in views if v.alive]
        for net, (vlans, sources) in plan.items():
            t = time.perf_counter()
            progress(f"vlan {net}")
            if len(live) < 2:
                steps.append(
                    Step(
                        "vlan",
                        f"{net}: {vlan.format_ranges(vlans)}",
                        Verdict.ERROR if dead else Verdict.SKIPPED,
                        [f"a trunk check needs two nodes; {len(live)} agent alive of {len(views)}"],
                        unreachable=bool(dead),
                    )
                )
                continue
            report = await vlan.run_check(client, config, live, vlans, network=net)
            verdict = Verdict.FAIL if report.has_failures else Verdict.ERROR if report.has_errors else Verdict.OK
            origin = "" if sources == ["[vlans]"] else f" (from {', '.join(sources)})"
            steps.append(
                Step(
                    "vlan",
                    f"{net}: {vlan.format_ranges(vlans)}{origin}",
                    verdict,
                    report.summary(),
                    time.perf_counter() - t,
                    bool(report.unreachable),
                )
            )
        if not plan:
            steps.append(
                Step(
                    "vlan",
                    "-",
                    Verdict.SKIPPED,
                    (notes or [])
                    + [
                        f"no VLANs to verify on {', '.join(networks)}: none in [vlans] "
                        "nor in Neutron's network_vlan_ranges mapped by physnet_networks"
                    ],
                )
            )
        elif notes:
            steps.append(Step("vlan", "unmapped physnets", Verdict.SKIPPED, notes))

        if quick:
            steps.append(Step("bandwidth", "-", Verdict.SKIPPED, ["skipped with --quick"]))
        else:
            bw_nets = [n for n in networks if n in config.bandwidth] or [
                n for n in networks if n != config.management_network
            ][:1]
            live = [v.name for v in views if v.alive]
            rounds = bandwidth.round_robin(live)[:1]  # one round: every node in at most one short test
            for net in bw_nets:
                t = time.perf_counter()
                progress(f"bandwidth {net}")
                bw = bandwidth.BandwidthCheck(client, config, bandwidth.Options(duration=2.0))
                rep = bandwidth.Report()
                await bw.run(net, rounds, rep)
                steps.append(
                    Step(
                        "bandwidth",
                        f"{net}: 1 round, 2 s",
                        _verdict(r.verdict for r in rep.rows),
                        bandwidth.summary(rep.rows) or ["no pair to test"],
                        time.perf_counter() - t,
                        bool(rep.unreachable),
                    )
                )
    return steps, views, mesh_rows


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


class CheckAll(StethLister):
    """Before deployment, in one go: agents alive, Neutron's agents alive and their OVS bridges as
    configured (with a cloud), mesh and MTU on every network, VLAN trunks, a short bandwidth round.

    One row per check; exit 0 all ok, 1 a problem found, 3 an agent (or the OpenStack API) unreachable.

    With a cloud (--os-cloud, OS_CLOUD or OS_AUTH_URL, as for `openstack`): every Neutron agent must
    be alive and admin-up, and for every Open vSwitch agent the node of the same name (Neutron host ==
    steth node name) must have the integration bridge, a NIC in every bridge of bridge_mappings and
    the tunneling_ip on an interface. VLANs to verify come from [vlans], [neutron] network_vlan_ranges
    and the cloud's VLAN segment ranges (network-segment-range extension), a physnet reaching a
    network through [neutron] physnet_networks = PHYSNET:NETWORK.

    Without [nodes] in the config, the nodes are the hosts of Neutron's agents, named after the host,
    reached at discovery_address ([DEFAULT], default {tunneling_ip}: the host's OVS agent's tunnel
    address; {host} uses the host name through DNS) and agent_port. Neutron knows no management
    address: hosts whose steth-agent listens elsewhere, or without an OVS agent under the default,
    need [nodes]."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_scope_options(parser)
        parser.add_argument(
            "--quick", action="store_true", help="one probe per pair and no bandwidth test (seconds instead of tens)"
        )
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
        add_openstack_options(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        config = load_config(self.app.options.config_file, require_nodes=False)
        t = time.perf_counter()
        cloud = ask_cloud(args)
        cloud.seconds = time.perf_counter() - t
        discovered = None
        if not config.nodes:
            config, discovered = discover_nodes(config, cloud)
        nodes = select_nodes(config, args.nodes)
        networks = select_networks(config, args.network)

        def progress(what: str) -> None:
            if sys.stderr.isatty():
                print(f"check all: {what} ...", file=sys.stderr)

        steps, views, mesh_rows = run(
            _all(config, nodes, networks, args.quick, progress, cloud, selected=bool(args.nodes), discovered=discovered)
        )
        if any(s.unreachable for s in steps):
            self.exit_status = EXIT_UNREACHABLE
        elif any(s.verdict in (Verdict.FAIL, Verdict.ERROR) for s in steps):
            self.exit_status = EXIT_PROBLEM
        else:
            self.exit_status = EXIT_OK
        self.summary = [
            f"{s.check}: {line}" for s in steps for line in s.findings if s.verdict not in (Verdict.OK, Verdict.SKIPPED)
        ]
        if args.html:
            findings = [f"{s.check} ({s.verdict.value}): {line}" for s in steps for line in s.findings]
            page = mesh_page(mesh_rows, [v.name for v in views], networks, findings, ok=self.exit_status == 0)
            html.write(args.html, page.replace("steth check mesh", "steth check all"))
        columns = ["check", "scope", "verdict", "detail", "seconds"]
        rows = [
            [s.check, s.scope, s.verdict.value, s.findings[0] if s.findings else "", round(s.seconds, 1)] for s in steps
        ]
        return columns, rows
