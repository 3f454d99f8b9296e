"""`steth interface show AGENT IFACE` (get-interface)."""

from __future__ import annotations

import argparse

from .. import api
from ..client import with_agents
from ..inventory import resolve_node
from .base import StethShowOne, ifname_arg


class InterfaceShow(StethShowOne):
    """Show one interface of a node: kind, state, MTU, MAC, addresses, master, counters."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", help="node name from the config")
        parser.add_argument("interface", type=ifname_arg, help="interface name on that node")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        node = resolve_node(config, args.agent)

        iface = with_agents(config, lambda client: api.interface(client, node, args.interface))
        fields = {
            "name": iface.name,
            "index": iface.index,
            "kind": iface.kind,
            "state": iface.state,
            "admin_up": iface.admin_up,
            "mtu": iface.mtu,
            "mac": iface.mac or "",
            "master": iface.master or "",
            "addresses": "\n".join(
                f"{a.address}/{a.prefixlen}" + (f" brd {a.broadcast}" if a.broadcast else "") for a in iface.addresses
            ),
            **{f"{k}": v for k, v in iface.stats.model_dump().items()},
        }
        return tuple(fields), tuple(fields.values())
