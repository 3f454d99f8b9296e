"""`steth watch apply|stop|status`: continuous probing by the agents themselves."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ...errors import UsageError
from ...wire.models import Verdict
from ...wire.vlan import format_ranges, parse_vlans
from ...wire.watch import MAX_PROBE_RATE, WatchStatus
from ..checks import mtu as mtu_check
from ..checks.nodes import discover, select_networks
from ..client import AgentClient, AgentReply, run, with_agents
from ..inventory import select_nodes
from ..watch import plan as watch_plan
from ..watch.peers import DEFAULT_PEERS
from ..watch.verdicts import findings, stale
from .base import StethLister, exit_status_for


def _nodes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes",
        metavar="N1,N2",
        type=lambda s: [n for n in s.split(",") if n],
        help="only these nodes (default: all in the config)",
    )


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise UsageError(f"{name} {value:g} is out of range {low:g}-{high:g}")


class WatchApply(StethLister):
    """Compute every agent's peer set and start the agents probing on their own (until `watch stop`).

    Each node probes K peers per network and is probed by exactly K (K >= N-1: the full mesh);
    agents keep the plan across restarts and publish results at GET /metrics for Prometheus.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--peers-per-node", type=int, default=DEFAULT_PEERS, metavar="K", help="default 10")
        parser.add_argument("--interval", type=float, default=10.0, metavar="S", help="seconds per round (default 10)")
        parser.add_argument("--timeout", type=float, default=1.0, metavar="S", help="echo timeout (default 1)")
        parser.add_argument(
            "--max-pps", type=float, default=50.0, help="hard cap on each agent's probe packets per second (default 50)"
        )
        parser.add_argument(
            "--network", action="append", metavar="NAME", help="watch this network (repeatable; default all)"
        )
        parser.add_argument(
            "--mtu",
            action="store_true",
            help="also a don't-fragment probe at each network's expected MTU ([mtu] in the config, "
            "else the most common interface MTU)",
        )
        parser.add_argument(
            "--vlans",
            metavar="LIST",
            help="VLAN heartbeat: each node sends a tagged frame per VLAN (e.g. 100-110,200) on its trunk every "
            "--vlan-every rounds, and its peers check they arrive; on the --vlan-network networks",
        )
        parser.add_argument(
            "--vlan-network",
            action="append",
            metavar="NAME",
            help="trunk network of the heartbeat (repeatable; default: the watched networks in [vlans] of the config)",
        )
        parser.add_argument("--vlan-every", type=int, default=6, metavar="N", help="rounds between heartbeats (6)")
        _nodes_option(parser)
        return parser

    @staticmethod
    def _vlans(args: argparse.Namespace, config, networks: list[str]) -> dict[str, list[int]]:
        if not args.vlans:
            if args.vlan_network:
                raise UsageError("--vlan-network needs --vlans")
            return {}
        try:
            vlans = parse_vlans(args.vlans)
        except ValueError as exc:
            raise UsageError(f"--vlans: {exc}") from None
        trunks = args.vlan_network or [n for n in networks if n in config.vlans]
        if not trunks:
            raise UsageError(
                "--vlans: no trunk network to send the heartbeat on",
                f"give --vlan-network NAME, or list the trunk in [vlans] of {config.source}",
            )
        unknown = [n for n in trunks if n not in networks]
        if unknown:
            raise UsageError(f"--vlan-network {unknown[0]} is not among the watched networks: {', '.join(networks)}")
        return {n: vlans for n in trunks}

    def take_action(self, args: argparse.Namespace):
        config = self.config
        nodes = select_nodes(config, args.nodes)
        networks = select_networks(config, args.network)
        vlans = self._vlans(args, config, networks)
        _in_range("--vlan-every", args.vlan_every, 1, 1000)
        _in_range("--peers-per-node", args.peers_per_node, 1, 1024)
        _in_range("--interval", args.interval, 0.5, 3600)
        _in_range("--timeout", args.timeout, 0.01, min(10, args.interval))
        _in_range("--max-pps", args.max_pps, 0.1, MAX_PROBE_RATE)
        settings = watch_plan.Settings(
            args.peers_per_node, args.interval, 0.2, args.timeout, args.max_pps, args.vlan_every
        )

        async def go():
            async with AgentClient(config) as client:
                views = await discover(client, config, nodes, networks)
                mtus = mtu_check.expected_mtus(views, networks, config.mtu, None) if args.mtu else None
                plans = watch_plan.build(views, networks, settings, mtus, vlans)
                by_name = {v.name: v.node for v in views}
                sent = await client.fan_out(
                    [by_name[n] for n in plans], lambda node: watch_plan.send(client, node, plans[node.name])
                )
                return views, plans, sent

        views, plans, sent = run(go())
        columns = ["name", "networks", "peers", "packets_per_round", "probes_per_second", "verdict", "error"]
        rows = []
        for v in views:
            if not v.alive:
                rows.append([v.name, "", 0, 0, 0.0, Verdict.ERROR.value, v.error.message if v.error else ""])
        for o in sent:
            p = plans[o.node.name]
            nets = ",".join(n.name for n in p.networks)
            peers = max(len(n.peers) for n in p.networks)
            pps = round(p.packets_per_round() / p.interval, 2)
            if o.ok:
                rows.append([o.node.name, nets, peers, p.packets_per_round(), pps, Verdict.OK.value, ""])
            else:
                rows.append(
                    [o.node.name, nets, peers, p.packets_per_round(), pps, Verdict.ERROR.value, o.error.message]
                )
        for v in views:
            if v.alive and v.name not in plans:
                rows.append([v.name, "", 0, 0, 0.0, Verdict.SKIPPED.value, "no address on the watched networks"])
        over = [r[0] for r in rows if r[4] > args.max_pps]
        if over:
            self.summary.append(
                f"{len(over)} agents need more than --max-pps {args.max_pps:g} packets/s: their rounds "
                "stretch beyond --interval (raise --max-pps or --interval, or lower --peers-per-node)"
            )
        failed = any(r[5] == Verdict.ERROR.value for r in rows)
        self.exit_status = exit_status_for([], unreachable=failed)
        rows.sort(key=lambda r: r[0])
        return columns, rows


class _OnEveryAgent(StethLister):
    """A watch command that asks each selected agent one thing (``--nodes`` narrows them)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _nodes_option(parser)
        return parser

    def ask(self, args: argparse.Namespace, call: Any) -> list[AgentReply[WatchStatus]]:
        config = self.config
        nodes = select_nodes(config, args.nodes)
        return with_agents(config, lambda client: client.fan_out(nodes, lambda n: call(client, n)))


class WatchStop(_OnEveryAgent):
    """Stop the watch on every agent and remove its plan."""

    def take_action(self, args: argparse.Namespace):
        outcomes = self.ask(args, watch_plan.stop)
        rows = [
            [o.node.name, "stopped" if o.ok else "", Verdict.OK.value if o.ok else Verdict.ERROR.value]
            + [o.error.message if o.error else ""]
            for o in outcomes
        ]
        self.exit_status = exit_status_for([], unreachable=any(not o.ok for o in outcomes))
        return ["name", "watch", "verdict", "error"], rows


class WatchStatusCmd(_OnEveryAgent):
    """Per agent and peer: what it probes, when it last did, the last result; node or pair problems below."""

    def take_action(self, args: argparse.Namespace):
        outcomes = self.ask(args, watch_plan.status)
        now = time.time()
        columns = ["source", "network", "destination", "address", "up", "rtt_ms", "mtu_ok", "sent", "lost"]
        columns += ["last_probe_s_ago", "verdict", "error"]
        rows, verdicts, statuses = [], [], {}
        for o in sorted(outcomes, key=lambda o: o.node.name):
            if not o.ok:
                rows.append([o.node.name, "", "", "", None, None, None, 0, 0, None, "error", o.error.message])
                continue
            st = o.value
            statuses[o.node.name] = st
            if not st.active:
                rows.append([o.node.name, "", "", "", None, None, None, 0, 0, None, "skipped", "not watching"])
                continue
            if stale(st, now):
                self.summary.append(f"{o.node.name}: watch is stale (no round finished in 3 intervals)")
                verdicts.append(Verdict.FAIL)
            for r in st.results:
                bad = r.up is False or r.mtu_ok is False
                verdict = Verdict.FAIL if bad else (Verdict.OK if r.up else Verdict.SKIPPED)
                verdicts.append(verdict)
                ago = round(now - r.at, 1) if r.at else None
                error = r.error or r.mtu_error or ""
                rows.append(
                    [o.node.name, r.network, r.peer, r.address, r.up, r.rtt_ms, r.mtu_ok, r.sent, r.lost, ago]
                    + [verdict.value, error]
                )
            for v in st.vlan_results:
                if v.error:
                    self.summary.append(f"{o.node.name}: VLAN heartbeat on {v.network}: {v.error}")
                    verdicts.append(Verdict.ERROR)
                elif v.missing:
                    self.summary.append(
                        f"{v.network}: frames from {v.prober} to {o.node.name} no longer arrive on VLANs "
                        f"{format_ranges(v.missing)} (not carried between them)"
                    )
                    verdicts.append(Verdict.FAIL)
        self.summary += [f.text() for f in findings(statuses)]
        if not self.summary and statuses and any(s.active for s in statuses.values()):
            self.summary.append("every watched pair answered in its last round")
        self.exit_status = exit_status_for(verdicts, unreachable=any(not o.ok for o in outcomes))
        return columns, rows
