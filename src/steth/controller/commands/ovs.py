"""`steth ovs check-ports AGENT BRIDGE PORT...` (check-ports-on-br)."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from ...wire.models import OvsCheckPortsRequest
from .. import api
from ..client import AgentClient, run
from ..inventory import resolve_node
from .base import StethLister, exit_status_for
from .ping import request_error


class OvsCheckPorts(StethLister):
    """Check that ports exist on an Open vSwitch bridge of a node."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", help="node name from the config")
        parser.add_argument("bridge", help="OVS bridge, e.g. br-int")
        parser.add_argument("ports", nargs="+", metavar="PORT", help="port names expected on the bridge")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        node = resolve_node(config, args.agent)
        try:
            req = OvsCheckPortsRequest(bridge=args.bridge, ports=args.ports)
        except ValidationError as exc:
            raise request_error(exc) from None

        async def go():
            async with AgentClient(config) as client:
                return await api.ovs_check_ports(client, node, req)

        resp = run(go())
        columns = ["agent", "bridge", "port", "present", "verdict", "detail"]
        if not resp.ports:  # OVS unavailable: one row that says why
            rows = [[node.name, resp.bridge, "", False, resp.verdict.value, resp.detail]]
        else:
            rows = [[node.name, resp.bridge, p.port, p.present, p.verdict.value,
                     "" if p.present else (resp.detail if not resp.bridge_exists else "not on bridge")]
                    for p in resp.ports]
        self.exit_status = exit_status_for(r[-2] for r in rows)
        return columns, rows
