"""`steth agent list` (print-agents-info)."""

from __future__ import annotations

import argparse

from ...wire.models import AgentInfo, Verdict
from .. import api
from ..client import AgentClient, AgentReply, run
from ..inventory import addresses_by_network, select_nodes
from .base import StethLister, exit_status_for


def capability_list(info: AgentInfo) -> str:
    """What the node can do, as short names: ovs, 8021q, iperf3, raw-sockets."""
    caps = info.capabilities
    names = [
        ("ovs", caps.openvswitch),
        ("8021q", caps.vlan_8021q),
        ("iperf3", caps.iperf3),
        ("raw-sockets", caps.raw_sockets),
    ]
    return " ".join(n for n, ok in names if ok)


class AgentList(StethLister):
    """List every agent: alive or not, version, response time, its address on each network."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--nodes",
            metavar="N1,N2",
            type=lambda s: [n for n in s.split(",") if n],
            help="only these nodes (default: all in the config)",
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        nodes = select_nodes(config, args.nodes)

        async def gather() -> list[AgentReply[AgentInfo]]:
            async with AgentClient(config) as client:
                return await client.fan_out(nodes, lambda n: api.info(client, n))

        outcomes = run(gather())
        networks = list(config.networks)
        columns = ["name", "agent", "alive", "version", "response_ms", *networks, "capabilities", "verdict", "error"]
        rows = []
        for o in outcomes:
            if o.ok:
                addrs = addresses_by_network(config, o.value)
                rows.append(
                    [
                        o.node.name,
                        o.node.url,
                        True,
                        o.value.version,
                        round(o.elapsed_ms, 1),
                        *[", ".join(addrs[n]) for n in networks],
                        capability_list(o.value),
                        Verdict.OK.value,
                        "",
                    ]
                )
            else:
                rows.append(
                    [
                        o.node.name,
                        o.node.url,
                        False,
                        "",
                        round(o.elapsed_ms, 1),
                        *["" for _ in networks],
                        "",
                        Verdict.ERROR.value,
                        o.error.message,
                    ]
                )
        self.exit_status = exit_status_for((r[-2] for r in rows), unreachable=any(not o.ok for o in outcomes))
        return columns, rows
