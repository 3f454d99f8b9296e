"""`steth check bandwidth` and the original `check-iperf SERVER_AGENT CLIENT_AGENT`: iperf3 between nodes."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from ...errors import UsageError
from ...wire.iperf import MAX_DURATION, IperfClientRequest, Protocol, format_rate, parse_rate
from ..checks import bandwidth as bw
from ..checks import bandwidth_rounds as rounds_of
from ..client import AgentClient, with_agents
from ..config import ControllerConfig
from ..inventory import resolve_node
from .base import StethLister, exit_status_for, progress_printer, request_error

# columns a table shows when no -c is given (json/yaml/csv/value get them all)
TABLE_COLUMNS = (
    "round",
    "network",
    "source",
    "destination",
    "protocol",
    "throughput",
    "retransmits",
    "jitter_ms",
    "loss_pct",
    "verdict",
    "error",
)


def rate_arg(text: str) -> int:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


progress = progress_printer("bandwidth")


def check_options(opts: bw.Options) -> None:
    """The agent would refuse these; say so before any server is started."""
    try:
        IperfClientRequest(
            server="127.0.0.1",
            port=opts.port or 5201,
            protocol=opts.protocol,
            duration=opts.duration,
            parallel=opts.parallel,
            bandwidth=opts.bandwidth,
            reverse=opts.reverse,
            bidir=opts.bidir,
            connect_timeout=opts.connect_timeout,
        )
    except ValidationError as exc:
        raise request_error(exc) from None
    if opts.port is not None and not 1 <= opts.port <= 65535:
        raise UsageError(f"port {opts.port} is out of range 1-65535")


class _BandwidthLister(StethLister):
    def run_check(
        self,
        config: ControllerConfig,
        args: argparse.Namespace,
        networks: list[str],
        rounds: list[list[rounds_of.Pair]],
        opts: bw.Options,
    ):
        check_options(opts)
        known = set(config.nodes)
        for name in {n for r in rounds for p in r for n in p}:
            if name not in known:
                resolve_node(config, name)  # raises with the list of known agents
        for net in networks:
            if net not in config.networks:
                raise UsageError(
                    f"network {net!r} is not in [networks] of {config.source}",
                    f"known networks: {', '.join(config.networks) or 'none'}",
                )

        async def go(client: AgentClient) -> bw.Report:
            report = bw.Report()
            check = bw.BandwidthCheck(client, config, opts, progress)
            for net in networks:
                await check.run(net, rounds, report)
            return report

        report = with_agents(config, go)
        for line in bw.summary(report.rows):
            print(f"bandwidth: {line}", file=sys.stderr)
        self.exit_status = exit_status_for((r.verdict for r in report.rows), unreachable=bool(report.unreachable))
        rows = [r.values() for r in report.rows]
        columns = list(bw.Row.COLUMNS)
        if getattr(args, "formatter", "table") == "table" and not getattr(args, "columns", None):
            keep = [columns.index(c) for c in TABLE_COLUMNS]
            return [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
        return columns, rows


class CheckBandwidth(_BandwidthLister):
    """Measure bandwidth between nodes with iperf3: pairs, a full mesh or a star, in rounds where no node
    takes part in two tests at once; each result judged against --min-bandwidth or [bandwidth] of the config."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--network",
            help="network(s) from [networks], comma separated, tested in turn (default: the management network)",
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--pairs", metavar="A:B[,C:D...]", help="these pairs: traffic from A to B")
        which.add_argument("--mesh", action="store_true", help="every pair of nodes once (the default)")
        which.add_argument("--star", metavar="NODE", help="NODE against every other node")
        parser.add_argument("--nodes", metavar="N1,N2", help="for --mesh/--star: only these nodes (default: all)")
        parser.add_argument(
            "--duration", "-t", type=float, default=10.0, help=f"seconds per test (1-{MAX_DURATION}, default 10)"
        )
        parser.add_argument("--parallel", "-P", type=int, default=1, help="parallel streams per test (default 1)")
        parser.add_argument("--udp", action="store_true", help="UDP instead of TCP (reports jitter and loss)")
        parser.add_argument(
            "--bandwidth",
            "-b",
            type=rate_arg,
            metavar="RATE",
            help="target rate per test, e.g. 50M (iperf3 -b; UDP defaults to 1M)",
        )
        direction = parser.add_mutually_exclusive_group()
        direction.add_argument("--reverse", "-R", action="store_true", help="measure B -> A instead of A -> B")
        direction.add_argument("--bidir", action="store_true", help="both directions at once, one row each")
        parser.add_argument(
            "--min-bandwidth",
            type=rate_arg,
            metavar="RATE",
            help="a result below this fails, e.g. 1G (default: [bandwidth] of the network, else no threshold)",
        )
        parser.add_argument("--port", type=int, help="server port (default: a free one from the agent's range)")
        parser.add_argument(
            "--connect-timeout", type=float, default=3.0, help="seconds for the client to reach the server (default 3)"
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        networks = [n.strip() for n in (args.network or config.management_network).split(",") if n.strip()]
        nodes = [n.strip() for n in args.nodes.split(",") if n.strip()] if args.nodes else list(config.nodes)
        for n in nodes:
            resolve_node(config, n)
        if args.pairs:
            if args.nodes:
                raise UsageError("--nodes goes with --mesh or --star, not --pairs")
            rounds = rounds_of.pack_pairs(rounds_of.parse_pairs(args.pairs))
        elif args.star:
            resolve_node(config, args.star)
            rounds = rounds_of.star(args.star, [n for n in nodes if n != args.star])
        else:
            rounds = rounds_of.round_robin(nodes)
        if not rounds:
            raise UsageError("nothing to test: a mesh or star needs at least two nodes")
        opts = bw.Options(
            duration=args.duration,
            parallel=args.parallel,
            protocol=Protocol.UDP if args.udp else Protocol.TCP,
            bandwidth=args.bandwidth,
            reverse=args.reverse,
            bidir=args.bidir,
            min_bandwidth=args.min_bandwidth,
            port=args.port,
            connect_timeout=args.connect_timeout,
        )
        return self.run_check(config, args, networks, rounds, opts)


# original: mgmt/net/storage/others -> networks of the config
SERVER_TYPES = {"mgmt": "management", "net": "tenant", "storage": "storage"}


class CheckIperf(_BandwidthLister):
    """Bandwidth from CLIENT_AGENT to SERVER_AGENT with iperf3 (the original check-iperf; every option works)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("server_agent", metavar="SERVER_AGENT", help="node running the iperf3 server")
        parser.add_argument("client_agent", metavar="CLIENT_AGENT", help="node running the iperf3 client")
        parser.add_argument(
            "--iperf_server_type",
            "--iperf-server-type",
            choices=["mgmt", "net", "storage", "others"],
            default="mgmt",
            help="network to test: mgmt (management), net (tenant), storage, "
            "or others (every network of the config in turn); default mgmt",
        )
        parser.add_argument(
            "--server_protocol",
            "--server-protocol",
            choices=["tcp", "udp"],
            help="protocol (iperf3 servers take both; must agree with --client_protocol)",
        )
        parser.add_argument(
            "--server_port", "--server-port", type=int, help="server port (default: a free one from the agent's range)"
        )
        parser.add_argument(
            "--client_protocol", "--client-protocol", choices=["tcp", "udp"], help="tcp (default) or udp"
        )
        parser.add_argument(
            "--client_port", "--client-port", type=int, help="port the client connects to (the server is started on it)"
        )
        parser.add_argument(
            "--client_timeout",
            "--client-timeout",
            type=float,
            default=10.0,
            help="test duration in seconds (default 10)",
        )
        parser.add_argument(
            "--client_parallel", "--client-parallel", type=int, default=1, help="parallel streams (default 1)"
        )
        parser.add_argument(
            "--client_bandwidth",
            "--client-bandwidth",
            type=rate_arg,
            metavar="RATE",
            help="target rate, e.g. 100M (UDP defaults to 1M)",
        )
        parser.add_argument(
            "--min-bandwidth",
            type=rate_arg,
            metavar="RATE",
            help="a result below this fails (default: [bandwidth] of the network)",
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        server = resolve_node(config, args.server_agent).name
        client = resolve_node(config, args.client_agent).name
        if server == client:
            raise UsageError("SERVER_AGENT and CLIENT_AGENT are the same node")
        if args.server_protocol and args.client_protocol and args.server_protocol != args.client_protocol:
            raise UsageError(
                f"--server_protocol {args.server_protocol} and --client_protocol {args.client_protocol} disagree",
                "an iperf3 server takes both; give one protocol",
            )
        protocol = args.client_protocol or args.server_protocol or "tcp"
        if args.server_port and args.client_port and args.server_port != args.client_port:
            raise UsageError(
                f"--server_port {args.server_port} and --client_port {args.client_port} disagree",
                "the client connects to the server's port; give one of them",
            )
        port = args.server_port or args.client_port
        if args.iperf_server_type == "others":
            networks = list(config.networks)
        else:
            networks = [
                config.management_network if args.iperf_server_type == "mgmt" else SERVER_TYPES[args.iperf_server_type]
            ]
        opts = bw.Options(
            duration=args.client_timeout,
            parallel=args.client_parallel,
            protocol=Protocol(protocol),
            bandwidth=args.client_bandwidth,
            min_bandwidth=args.min_bandwidth,
            port=port,
        )
        return self.run_check(config, args, networks, [[(client, server)]], opts)


__all__ = ["CheckBandwidth", "CheckIperf", "format_rate"]
