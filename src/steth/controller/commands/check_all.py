"""`steth check all`: the pre-deployment questions in one command, one summary table, one exit code."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE
from ...report import html
from ...wire.models import Verdict, worst
from ..checks import bandwidth, mesh, mtu, vlan
from ..checks.nodes import NodeView, discover, select_networks
from ..client import AgentClient, run
from ..config import ControllerConfig
from ..inventory import select_nodes
from .base import StethLister
from .check import add_scope_options, mesh_page


@dataclass
class Step:
    check: str
    scope: str
    verdict: Verdict
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unreachable: bool = False


def _verdict(verdicts, unreachable: bool = False) -> Verdict:
    vs = list(verdicts)
    if unreachable:
        return Verdict.ERROR
    return worst(vs) if vs else Verdict.SKIPPED


async def _all(config: ControllerConfig, nodes, networks: list[str], quick: bool,
               progress) -> tuple[list[Step], list[NodeView], list[mesh.MeshRow]]:
    steps: list[Step] = []
    async with AgentClient(config) as client:
        t = time.perf_counter()
        progress("agents")
        views = await discover(client, config, nodes, networks)
        dead = [v.name for v in views if not v.alive]
        steps.append(Step("agents", f"{len(views)} nodes", Verdict.ERROR if dead else Verdict.OK,
                          [f"agent {v.name} at {v.node.url}: {v.error.message}" for v in views if v.error]
                          or [f"all {len(views)} agents alive"], time.perf_counter() - t, bool(dead)))

        t = time.perf_counter()
        progress("mesh")
        probe = mesh.ProbeSettings(count=1 if quick else 3)
        mesh_rows = await mesh.run(client, views, networks, probe, mesh.Thresholds())
        steps.append(Step("mesh", ", ".join(networks), _verdict((r.verdict for r in mesh_rows), bool(dead)),
                          mesh.findings(mesh_rows, dead), time.perf_counter() - t, bool(dead)))

        t = time.perf_counter()
        progress("mtu")
        expected = mtu.expected_mtus(views, networks, config.mtu, None)
        mtu_rows = mtu.interface_rows(views, networks, expected) + await mtu.run(client, views, networks, expected)
        family = {n: config.networks[n].version for n in networks}
        found = mtu.findings(mtu_rows, config.tunnels, config.neutron_mtu, expected, family)
        steps.append(Step("mtu", ", ".join(f"{n} {m}" for n, m in expected.items()),
                          _verdict((r.verdict for r in mtu_rows), bool(dead)),
                          found or ["every path carries the expected MTU"], time.perf_counter() - t, bool(dead)))

        for net in [n for n in networks if n in config.vlans]:
            t = time.perf_counter()
            progress(f"vlan {net}")
            vlans = config.vlans[net]
            live = [v.node for v in views if v.alive]
            report = await vlan.run_check(client, config, live, vlans, network=net)
            verdict = Verdict.FAIL if report.has_failures else Verdict.ERROR if report.has_errors else Verdict.OK
            steps.append(Step("vlan", f"{net}: {vlan.format_ranges(vlans)}", verdict, report.summary(),
                              time.perf_counter() - t, bool(report.unreachable)))
        if not any(n in config.vlans for n in networks):
            steps.append(Step("vlan", "-", Verdict.SKIPPED, ["no [vlans] in the config: no trunk to verify"]))

        if quick:
            steps.append(Step("bandwidth", "-", Verdict.SKIPPED, ["skipped with --quick"]))
        else:
            bw_nets = [n for n in networks if n in config.bandwidth] or [n for n in networks
                                                                         if n != config.management_network][:1]
            live = [v.name for v in views if v.alive]
            rounds = bandwidth.round_robin(live)[:1]  # one round: every node in at most one short test
            for net in bw_nets:
                t = time.perf_counter()
                progress(f"bandwidth {net}")
                bw = bandwidth.BandwidthCheck(client, config, bandwidth.Options(duration=2.0))
                rep = bandwidth.Report()
                await bw.run(net, rounds, rep)
                steps.append(Step("bandwidth", f"{net}: 1 round, 2 s", _verdict(r.verdict for r in rep.rows),
                                  bandwidth.summary(rep.rows) or ["no pair to test"], time.perf_counter() - t,
                                  bool(rep.unreachable)))
    return steps, views, mesh_rows


class CheckAll(StethLister):
    """Before deployment, in one go: agents alive, mesh and MTU on every network, VLAN trunks
    ([vlans] of the config), a short bandwidth round. One row per check; exit 0 all ok, 1 a
    problem found, 3 an agent unreachable."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_scope_options(parser)
        parser.add_argument("--quick", action="store_true",
                            help="one probe per pair and no bandwidth test (seconds instead of tens)")
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        nodes = select_nodes(config, args.nodes)
        networks = select_networks(config, args.network)

        def progress(what: str) -> None:
            if sys.stderr.isatty():
                print(f"check all: {what} ...", file=sys.stderr)

        steps, views, mesh_rows = run(_all(config, nodes, networks, args.quick, progress))
        if any(s.unreachable for s in steps):
            self.exit_status = EXIT_UNREACHABLE
        elif any(s.verdict in (Verdict.FAIL, Verdict.ERROR) for s in steps):
            self.exit_status = EXIT_PROBLEM
        else:
            self.exit_status = EXIT_OK
        self.summary = [f"{s.check}: {line}" for s in steps for line in s.findings
                        if s.verdict not in (Verdict.OK, Verdict.SKIPPED)]
        if args.html:
            findings = [f"{s.check} ({s.verdict.value}): {line}" for s in steps for line in s.findings]
            page = mesh_page(mesh_rows, [v.name for v in views], networks, findings, ok=self.exit_status == 0)
            html.write(args.html, page.replace("steth check mesh", "steth check all"))
        columns = ["check", "scope", "verdict", "detail", "seconds"]
        rows = [[s.check, s.scope, s.verdict.value, s.findings[0] if s.findings else "", round(s.seconds, 1)]
                for s in steps]
        return columns, rows
