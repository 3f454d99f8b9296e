"""`steth ovs check-ports AGENT BRIDGE PORT...` (check-ports-on-br)."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from ...wire.models import OvsCheckPortsRequest
from .. import api
from ..client import with_agents
from ..inventory import resolve_node
from .base import StethLister, StethShowOne, exit_status_for, request_error


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

        resp = with_agents(config, lambda client: api.ovs_check_ports(client, node, req))
        columns = ["agent", "bridge", "port", "present", "verdict", "detail"]
        if not resp.ports:  # OVS unavailable: one row that says why
            rows = [[node.name, resp.bridge, "", False, resp.verdict.value, resp.detail]]
        else:
            rows = [
                [
                    node.name,
                    resp.bridge,
                    p.port,
                    p.present,
                    p.verdict.value,
                    "" if p.present else (resp.detail if not resp.bridge_exists else "not on bridge"),
                ]
                for p in resp.ports
            ]
        self.exit_status = exit_status_for(r[-2] for r in rows)
        return columns, rows


class OvsShow(StethLister):
    """Show a node's Open vSwitch: bridges, ports, tags, interfaces, external_ids, peers, problems.

    Interfaces with type, ofport and error, external_ids such as Neutron's iface-id, patch
    peers; dead-VLAN tags, ofport errors and patch ports without a peer are reported."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", help="node name from the config")
        parser.add_argument("bridge", nargs="?", help="only this bridge, e.g. br-int")
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...wire.validators import check_bridge

        config = self.config
        node = resolve_node(config, args.agent)
        if args.bridge:
            try:
                check_bridge(args.bridge)
            except ValueError as exc:
                from ...errors import UsageError

                raise UsageError(str(exc)) from None

        resp = with_agents(config, lambda client: api.ovs_show(client, node, args.bridge))
        columns = ["bridge", "port", "tag", "trunks", "interface", "type", "ofport", "peer", "external_ids", "error"]
        rows = []
        table = self.is_table(args)
        for b in resp.bridges:
            for p in b.ports:
                for i in p.interfaces or [None]:
                    ext = (
                        (
                            i.external_ids
                            if not table
                            else " ".join(f"{k}={v}" for k, v in sorted(i.external_ids.items()))
                        )
                        if i
                        else ""
                    )
                    rows.append(
                        [
                            b.name,
                            p.name,
                            p.tag,
                            p.trunks if not table else ",".join(map(str, p.trunks)),
                            i.name if i else "",
                            i.type if i else "",
                            i.ofport if i else None,
                            (i.peer or "") if i else "",
                            ext,
                            (i.error or "") if i else "",
                        ]
                    )
        if resp.verdict.value != "ok" or resp.problems:
            self.summary = [f"{node.name}: {resp.detail}"] + [f"  problem: {p}" for p in resp.problems]
        self.exit_status = exit_status_for([resp.verdict])
        return columns, rows


class OvsTrace(StethShowOne):
    """Trace a packet through a node's OVS bridge (ovs-appctl ofproto/trace) from validated fields."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", help="node name from the config")
        parser.add_argument("bridge", help="OVS bridge, e.g. br-int")
        parser.add_argument("--in-port", required=True, help="port name the packet enters on, e.g. qvoXXXXXXXX-XX")
        parser.add_argument("--dl-src", help="source MAC")
        parser.add_argument("--dl-dst", help="destination MAC")
        parser.add_argument("--dl-vlan", type=int, help="802.1Q VLAN id of the packet (0-4095)")
        parser.add_argument("--nw-src", help="source IPv4 address")
        parser.add_argument("--nw-dst", help="destination IPv4 address")
        parser.add_argument("--proto", choices=["ip", "icmp", "tcp", "udp", "arp"], help="protocol")
        parser.add_argument("--tp-src", type=int, help="TCP/UDP source port")
        parser.add_argument("--tp-dst", type=int, help="TCP/UDP destination port")
        parser.add_argument("--full", action="store_true", help="include the whole ofproto/trace text")
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...wire.models import OvsTraceRequest

        config = self.config
        node = resolve_node(config, args.agent)
        fields = {
            k: getattr(args, k)
            for k in ("in_port", "dl_src", "dl_dst", "dl_vlan", "nw_src", "nw_dst", "proto", "tp_src", "tp_dst")
        }
        try:
            req = OvsTraceRequest(bridge=args.bridge, **{k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            raise request_error(exc) from None

        resp = with_agents(config, lambda client: api.ovs_trace(client, node, req))
        self.exit_status = exit_status_for([resp.verdict])
        columns = ["agent", "bridge", "flow", "verdict", "datapath_actions", "dropped", "detail"]
        values = [
            node.name,
            resp.bridge,
            resp.flow,
            resp.verdict.value,
            resp.datapath_actions,
            resp.dropped,
            resp.detail,
        ]
        if args.full:
            columns.append("trace")
            values.append(resp.output)
        return columns, values
