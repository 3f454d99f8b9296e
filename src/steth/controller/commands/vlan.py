"""`steth check vlan` and `check-vlan-interface`: is every VLAN trunked to every node? Raw 802.1Q frames,
nothing changed on the hosts."""

from __future__ import annotations

import argparse
import sys

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, UsageError
from ...wire.vlan import MAX_LISTEN_SECONDS, MAX_REPEAT, parse_vlans
from ..checks import vlan as check
from ..client import with_agents
from ..inventory import resolve_node, select_nodes
from .base import StethLister, ifname_arg

DEFAULT_VLANS = "untagged,1-4094"
ROW_COLUMNS = ["vlan", "source", "destination", "source_interface", "destination_interface", "verdict", "error"]
PAIR_COLUMNS = ["source", "destination", "ok", "missing", "verdict", "detail"]


def vlans_arg(text: str) -> list[int]:
    try:
        return parse_vlans(text, allow_untagged=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def exit_status(rep: check.VlanReport) -> int:
    if rep.unreachable:
        return EXIT_UNREACHABLE
    if rep.has_failures or rep.has_errors:
        return EXIT_PROBLEM
    return EXIT_OK


class _VlanLister(StethLister):
    """Table: one row per (source, destination) with the missing VLAN ranges, then the summary.
    Other formats (-f json, ...): one row per (VLAN, source, destination)."""

    report: check.VlanReport | None = None

    def add_run_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--duration",
            type=float,
            default=20.0,
            help=f"longest time a capture stays open, seconds (1-{MAX_LISTEN_SECONDS:g}; "
            "captures end as soon as the sweeps are in)",
        )
        parser.add_argument(
            "--grace", type=float, default=0.3, help="seconds to wait for frames in flight after the sweeps (0-5)"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help="pace each sweep to this many frames/s (default: as fast as possible)",
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=1,
            choices=range(1, MAX_REPEAT + 1),
            help="send every frame this many times (lossy links)",
        )

    def execute(self, args: argparse.Namespace, nodes, vlans: list[int], interface: str | None, network: str | None):
        config = self.config

        def go(client):
            return check.run_check(
                client,
                config,
                nodes,
                vlans,
                interface=interface,
                network=network,
                duration=args.duration,
                grace=args.grace,
                rate=args.rate,
                repeat=args.repeat,
            )

        if args.rate is not None and not 100 <= args.rate <= 10_000_000:
            raise UsageError(f"--rate {args.rate:g} is out of range 100-10000000 frames/s")
        if not 0 <= args.grace <= 5:
            raise UsageError(f"--grace {args.grace:g} is out of range 0-5 s")
        rep = with_agents(config, go)
        self.report = rep
        self.exit_status = exit_status(rep)
        if args.formatter == "table":
            return PAIR_COLUMNS, [[r[c] for c in PAIR_COLUMNS] for r in rep.pair_rows()]
        return ROW_COLUMNS, ([r[c] for c in ROW_COLUMNS] for r in rep.rows())

    def produce_output(self, parsed_args, column_names, data) -> int:
        rc = super().produce_output(parsed_args, column_names, data)
        if self.report is not None:
            out = self.app.stdout if parsed_args.formatter == "table" else sys.stderr
            for line in self.report.summary():
                out.write(line + "\n")
        return rc


class CheckVlan(_VlanLister):
    """Check that the switch carries every VLAN to every node's trunk interface (raw 802.1Q frames).

    All nodes listen on the interface, then all send one tagged frame per VLAN at
    once (told apart by the payload); every (sender, receiver, VLAN) is checked.
    Nothing is changed on the hosts. Exit 0 all carried, 1 VLANs missing,
    3 an agent unreachable.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--network",
            help="probe each node's interface on this network (found from its "
            "addresses and [networks]; default: 'tenant' if configured)",
        )
        where.add_argument("--interface", type=ifname_arg, help="probe this interface on every node")
        parser.add_argument(
            "--vlans",
            type=vlans_arg,
            default=vlans_arg(DEFAULT_VLANS),
            metavar="LIST",
            help=f"VLAN ids and ranges, 'untagged' for the native VLAN (default {DEFAULT_VLANS})",
        )
        parser.add_argument("--nodes", help="comma-separated node names (default: all configured)")
        self.add_run_options(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        names = [n.strip() for n in args.nodes.split(",") if n.strip()] if args.nodes else None
        nodes = select_nodes(self.config, names)
        return self.execute(args, nodes, args.vlans, args.interface, args.network)


class CheckVlanInterface(_VlanLister):
    """Check that VLAN_ID is carried between AGENT_A and AGENT_B on IFACE (both directions, raw frames)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent_a", metavar="AGENT_A")
        parser.add_argument("agent_b", metavar="AGENT_B")
        parser.add_argument("interface", metavar="IFACE", type=ifname_arg, help="trunk interface on both nodes")
        parser.add_argument("vlan_id", metavar="VLAN_ID", type=vlans_arg, help="VLAN id (or list, e.g. 100-110)")
        self.add_run_options(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        if args.agent_a == args.agent_b:
            raise UsageError("AGENT_A and AGENT_B are the same node", "name two different nodes")
        nodes = [resolve_node(config, args.agent_a), resolve_node(config, args.agent_b)]
        return self.execute(args, nodes, args.vlan_id, args.interface, None)
