"""`steth check all`: the pre-deployment questions in one command, one summary table, one exit code.

The engine is controller/checks/suite.py; this module parses, asks Neutron, runs it and renders."""

from __future__ import annotations

import argparse
import time

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE
from ...report import html
from ...report.check_all import page as check_all_page
from ...wire.models import Verdict
from ..checks import suite
from ..checks.cloud_facts import ask_cloud
from ..checks.nodes import select_networks
from ..client import with_agents
from ..config import load as load_config
from ..inventory import select_nodes
from .base import StethLister, add_scope_options, progress_printer


class CheckAll(StethLister):
    """Before deployment, in one go: agents alive, Neutron's agents alive and their OVS bridges as
    configured (with a cloud), mesh and MTU on every network, VLAN trunks, a short bandwidth round.

    One row per check; exit 0 all ok, 1 a problem found, 3 an agent (or the OpenStack API) unreachable.

    With a cloud (--os-cloud, OS_CLOUD or OS_AUTH_URL, as for `openstack`): every Neutron agent must
    be alive and admin-up, and for every Open vSwitch agent the node of the same name (Neutron host ==
    steth node name) must have the integration bridge, a NIC in every bridge of bridge_mappings and
    the tunneling_ip on an interface. VLANs to verify come from [vlans], [neutron] network_vlan_ranges
    and the cloud's VLAN segment ranges (network-segment-range extension), a physnet reaching a
    network through [neutron] physnet_networks = PHYSNET:NETWORK.

    Without [nodes] in the config, the nodes are the hosts of Neutron's agents, named after the host,
    reached at discovery_address ([DEFAULT], default {tunneling_ip}: the host's OVS agent's tunnel
    address; {host} uses the host name through DNS) and agent_port. Neutron knows no management
    address: hosts whose steth-agent listens elsewhere, or without an OVS agent under the default,
    need [nodes]."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_scope_options(parser)
        parser.add_argument(
            "--quick", action="store_true", help="one probe per pair and no bandwidth test (seconds instead of tens)"
        )
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
        return parser

    def take_action(self, args: argparse.Namespace):
        config = load_config(self.app.options.config_file, require_nodes=False)
        t = time.perf_counter()
        clients = self.app.client_manager
        cloud = ask_cloud((lambda: clients.openstack) if clients.configured else None, clients.cloud_name)
        cloud.seconds = time.perf_counter() - t
        discovered = None
        if not config.nodes:
            config, discovered = suite.discover_nodes(config, cloud)
        scope = suite.Scope(
            config,
            select_nodes(config, args.nodes),
            select_networks(config, args.network),
            quick=args.quick,
            selected=bool(args.nodes),
        )
        progress = progress_printer("check all")
        result = with_agents(
            config, lambda c: suite.run(c, scope, cloud, lambda what: progress(f"{what} ..."), discovered)
        )
        steps, views, mesh_rows, networks = result.steps, result.views, result.mesh_rows, scope.networks
        if any(s.unreachable for s in steps):
            self.exit_status = EXIT_UNREACHABLE
        elif any(s.verdict in (Verdict.FAIL, Verdict.ERROR) for s in steps):
            self.exit_status = EXIT_PROBLEM
        else:
            self.exit_status = EXIT_OK
        self.summary = [
            f"{s.check}: {line}" for s in steps for line in s.findings if s.verdict not in (Verdict.OK, Verdict.SKIPPED)
        ]
        if args.html:
            m = result.measured
            page = check_all_page(
                steps,
                [v.name for v in views],
                networks,
                mesh_rows,
                m.mtu_rows,
                dict(m.vlan_reports),
                m.bandwidth_rows,
                self.exit_status == 0,
            )
            html.write(args.html, page)
        columns = ["check", "scope", "verdict", "detail", "seconds"]
        rows = [
            [s.check, s.scope, s.verdict.value, s.findings[0] if s.findings else "", round(s.seconds, 1)] for s in steps
        ]
        return columns, rows
