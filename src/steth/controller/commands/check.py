"""`steth check ...`: checks that span many nodes."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from pydantic import ValidationError

from ...errors import UsageError
from ...report import html
from ...report.mesh import mesh_page
from ...wire.models import Verdict
from ..checks import dhcp_ovn, dhcp_port, mesh, mtu
from ..checks.nodes import discover, select_networks
from ..client import AgentClient, with_agents
from ..inventory import select_nodes
from .base import StethLister, add_scope_options, exit_status_for, request_error


class CheckMesh(StethLister):
    """Every node pings every peer on every network at once: loss, rtt, jitter per direction."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_scope_options(parser)
        parser.add_argument("--count", type=int, default=3, help="probes per pair (default 3)")
        parser.add_argument("--interval", type=float, default=0.2, help="seconds between probes (default 0.2)")
        parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for a reply (default 1)")
        parser.add_argument(
            "--max-loss",
            type=float,
            default=0.0,
            metavar="PCT",
            help="loss above this percentage fails a pair (default 0)",
        )
        parser.add_argument("--max-rtt", type=float, metavar="MS", help="average rtt above this fails a pair")
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML heatmap report")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        nodes = select_nodes(config, args.nodes)
        networks = select_networks(config, args.network)
        if len(nodes) < 2:
            raise UsageError("a mesh needs at least two nodes")
        if not 0 <= args.max_loss <= 100:
            raise UsageError(f"--max-loss {args.max_loss} is out of range 0-100")
        try:
            probe = mesh.ProbeSettings(args.count, args.interval, args.timeout)
        except ValidationError as exc:
            raise request_error(exc) from None
        thresholds = mesh.Thresholds(args.max_loss, args.max_rtt)

        async def go(client: AgentClient):
            views = await discover(client, config, nodes, networks)
            return views, await mesh.run(client, views, networks, probe, thresholds)

        views, rows = with_agents(config, go)
        unreachable = [v.name for v in views if not v.alive]
        self.summary = mesh.findings(rows, unreachable)
        self.exit_status = exit_status_for((r.verdict for r in rows), unreachable=bool(unreachable))
        if args.html:
            page = mesh_page(rows, [v.name for v in views], networks, self.summary, self.exit_status == 0, args.max_rtt)
            html.write(args.html, page)
        if self.is_table(args):
            return mesh.matrix(rows, [v.name for v in views])
        columns = list(mesh.MeshRow.__dataclass_fields__)
        return columns, [[v.value if isinstance(v, Verdict) else v for v in asdict(r).values()] for r in rows]


class CheckMtu(StethLister):
    """Path MTU between every pair with don't-fragment, interface MTUs, safe instance MTU over tunnels."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_scope_options(parser)
        parser.add_argument(
            "--mtu",
            type=int,
            help="expected MTU for every selected network (default: [mtu] in the config, else the interfaces' MTU)",
        )
        parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for a reply (default 1)")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = self.config
        nodes = select_nodes(config, args.nodes)
        networks = select_networks(config, args.network)
        if args.mtu is not None and not mtu.MIN_MTU <= args.mtu <= 65535:
            raise UsageError(f"--mtu {args.mtu} is out of range {mtu.MIN_MTU}-65535")
        if not 0.05 <= args.timeout <= 10:
            raise UsageError(f"--timeout {args.timeout} is out of range 0.05-10")

        async def go(client: AgentClient):
            views = await discover(client, config, nodes, networks)
            expected = mtu.expected_mtus(views, networks, config.mtu, args.mtu)
            rows = mtu.interface_rows(views, networks, expected)
            rows += await mtu.run(client, views, networks, expected, args.timeout)
            return views, expected, rows

        views, expected, rows = with_agents(config, go)
        unreachable = [v.name for v in views if not v.alive]
        family = {n: config.networks[n].version for n in networks}
        self.summary = [f"agent {n} is unreachable: its paths were not measured" for n in unreachable]
        self.summary += mtu.findings(rows, config.tunnels, config.neutron_mtu, expected, family)
        if not any(r.verdict is not Verdict.OK for r in rows) and not unreachable:
            self.summary.insert(
                0, "all paths carry the expected MTU: " + ", ".join(f"{n} {m}" for n, m in expected.items())
            )
        self.exit_status = exit_status_for((r.verdict for r in rows), unreachable=bool(unreachable))
        columns = list(mtu.MtuRow.__dataclass_fields__)
        shown = rows
        if self.is_table(args):
            shown = [r for r in rows if r.verdict is not Verdict.OK]
            if not shown:  # all good: one line per network instead of every pair
                return ["network", "expected_mtu", "interfaces_ok", "paths_ok", "verdict"], [
                    [
                        n,
                        expected[n],
                        sum(1 for r in rows if r.network == n and r.check == "interface"),
                        sum(1 for r in rows if r.network == n and r.check == "path"),
                        Verdict.OK.value,
                    ]
                    for n in networks
                ]
        return columns, [[v.value if isinstance(v, Verdict) else v for v in asdict(r).values()] for r in shown]


class CheckDhcp(StethLister):
    """Why does a VM get no address: trace a DHCPDISCOVER hop by hop to dnsmasq and back (on ML2/OVN,
    with an [ovn] section in steth.conf: to the ovn-controller of the VM's chassis and back).

    Injects a DHCPDISCOVER with the port's MAC at the VM side, captures on every hop of its
    path on the compute node and the network node, and names the first hop where the
    DISCOVER or the OFFER stops (or a rogue DHCP server). Changes no address."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("ref", metavar="PORT_OR_SERVER", help="port ID, MAC, fixed IP, or server name/ID")
        parser.add_argument(
            "--physical-interface",
            default="eth1",
            metavar="IFACE",
            help="the nodes' interface carrying tenant traffic (VLAN trunk / tunnels; default eth1)",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=6.0,
            help="capture window in seconds (default 6; dnsmasq may wait ~3 s before an OFFER)",
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        if not 5 <= args.duration <= 30:
            raise UsageError(f"--duration {args.duration} is out of range 5-30 s")
        cloud = self.cloud
        config = self.config
        rows = []
        verdicts = []
        for port in cloud.ports_of(args.ref):
            expected = getattr(args, "network_type", None)
            if expected:
                seg = cloud.network(port.network_id, with_subnets=False).segment
                if seg is None or seg.network_type != expected:
                    raise UsageError(
                        f"port {port.id} is on a {seg.network_type if seg else 'unknown'} network, not {expected}"
                    )
            facts = dhcp_port.port_facts(cloud, port)
            if config.ovn is not None:  # ML2/OVN: ovn-controller on the port's chassis answers DHCP
                analysis = with_agents(
                    config, lambda c, f=facts, o=config.ovn: dhcp_ovn.check_port(c, config, f, o, args.duration)
                )
            else:
                analysis = with_agents(
                    config,
                    lambda c, f=facts: dhcp_port.check_port(c, config, f, args.physical_interface, args.duration),
                )
            verdicts.append(analysis.verdict)
            for h in analysis.hops:
                rows.append(
                    [port.id, h.node, h.hop, h.interface, h.discover, h.offer, " ".join(h.others), h.error or ""]
                )
            self.summary.append(f"port {port.id} ({port.mac_address}): {analysis.verdict.value}: {analysis.reason}")
            self.summary += [f"  {r}" for r in analysis.rogue[1:]]
        self.exit_status = exit_status_for(verdicts)
        return ["port", "node", "hop", "interface", "discover", "offer", "other", "error"], rows


class _CheckDhcpOriginal(CheckDhcp):
    """Base of the original tool's DHCP commands: PORT_ID PHYSICAL_INTERFACE vlan|vxlan."""

    side = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super(CheckDhcp, self).get_parser(prog_name)
        parser.add_argument("ref", metavar="PORT_ID", help="Neutron port ID (or MAC / fixed IP)")
        parser.add_argument(
            "physical_interface",
            metavar="PHYSICAL_INTERFACE",
            help="the nodes' interface carrying tenant traffic, e.g. eth1",
        )
        parser.add_argument("network_type", choices=["vlan", "vxlan"], help="the port's network type")
        parser.add_argument("--duration", type=float, default=6.0, help="capture window in seconds (default 6)")
        return parser

    def take_action(self, args: argparse.Namespace):
        columns, rows = super().take_action(args)
        compute = {r[1] for r in rows if r[2] in ("vm-tap", "qvb", "qvo", "compute-uplink")}
        keep = [r for r in rows if (r[1] in compute) == (self.side == "compute")]
        return columns, keep or rows


class CheckDhcpOnComp(_CheckDhcpOriginal):
    """`check dhcp` showing the compute node's hops (original name; the verdict covers the whole path)."""

    side = "compute"


class CheckDhcpOnNetwork(_CheckDhcpOriginal):
    """`check dhcp` showing the network node's hops (original name; the verdict covers the whole path)."""

    side = "network"
