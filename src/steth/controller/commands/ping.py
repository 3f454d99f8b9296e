"""`steth ping AGENT DEST[,DEST...]` (ping): concurrent ICMP from one node."""

from __future__ import annotations

import argparse
import ipaddress

from pydantic import ValidationError

from ...errors import UsageError
from ...wire.models import PingRequest
from .. import api
from ..client import AgentClient, with_agents
from ..config import ControllerConfig
from ..inventory import interface_on_network, resolve_node
from .base import StethLister, exit_status_for, ifname_arg, request_error


async def resolve_destinations(
    client: AgentClient, config: ControllerConfig, dests: list[str], network: str | None
) -> list[tuple[str, str]]:
    """(label, address) per destination: literal addresses as they are, agent names via their /v1/info."""
    result: list[tuple[str, str]] = []
    for dest in dests:
        try:
            result.append((dest, str(ipaddress.ip_address(dest))))
            continue
        except ValueError:
            pass
        if dest not in config.nodes:
            raise UsageError(
                f"destination {dest!r} is neither an IP address nor a known agent",
                f"known agents: {', '.join(sorted(config.nodes))}",
            )
        node = config.nodes[dest]
        net = network or config.management_network
        if net == config.management_network and _is_ip(node.host):
            result.append((dest, node.host))
            continue
        if net not in config.networks:
            raise UsageError(
                f"network {net!r} is not in [networks] of {config.source}",
                f"known networks: {', '.join(config.networks) or 'none'}",
            )
        info = await api.info(client, node)
        found = interface_on_network(config, info, net)
        if not found:
            raise UsageError(f"agent {dest} has no address on network {net} ({config.networks[net]})")
        result.append((dest, found[0].address))
    return result


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class Ping(StethLister):
    """Ping one or more destinations (addresses or agent names) from an agent, all at once."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", help="node to ping from")
        parser.add_argument(
            "destinations", metavar="DEST[,DEST...]", help="IP addresses or agent names, comma separated"
        )
        parser.add_argument(
            "--network", help="for agent names: ping their address on this network (default: the management network)"
        )
        parser.add_argument("--count", type=int, default=3, help="echo requests per destination (1-100)")
        parser.add_argument("--interval", type=float, default=0.2, help="seconds between requests")
        parser.add_argument("--timeout", "-W", type=float, default=1.0, help="seconds to wait for each reply")
        parser.add_argument("--size", "-s", type=int, default=56, help="ICMP payload bytes")
        parser.add_argument("--df", action="store_true", help="set don't-fragment (path MTU probing)")
        parser.add_argument("--interface", "-I", type=ifname_arg, help="send from this interface")
        parser.add_argument("--source", help="send from this address")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        node = resolve_node(config, args.agent)
        dests = [d.strip() for d in args.destinations.split(",") if d.strip()]
        if not dests:
            raise UsageError("no destination given", "e.g. `steth ping compute-1 10.0.0.12,compute-2`")

        async def go(client: AgentClient):
            targets = await resolve_destinations(client, config, dests, args.network)
            try:
                req = PingRequest(
                    targets=[a for _, a in targets],
                    count=args.count,
                    interval=args.interval,
                    timeout=args.timeout,
                    size=args.size,
                    dont_fragment=args.df,
                    interface=args.interface,
                    source=args.source,
                )
            except ValidationError as exc:
                raise request_error(exc) from None
            return targets, await api.ping(client, node, req)

        targets, response = with_agents(config, go)
        by_addr = {r.target: r for r in response.results}
        columns = [
            "source",
            "destination",
            "address",
            "sent",
            "received",
            "loss_pct",
            "rtt_min_ms",
            "rtt_avg_ms",
            "rtt_max_ms",
            "rtt_mdev_ms",
            "verdict",
            "error",
        ]
        rows = []
        for label, addr in targets:
            r = by_addr[addr]
            rows.append(
                [
                    node.name,
                    label,
                    addr,
                    r.sent,
                    r.received,
                    r.loss_pct,
                    r.rtt_min_ms,
                    r.rtt_avg_ms,
                    r.rtt_max_ms,
                    r.rtt_mdev_ms,
                    r.verdict.value,
                    r.error or "",
                ]
            )
        self.exit_status = exit_status_for(r[-2] for r in rows)
        return columns, rows
