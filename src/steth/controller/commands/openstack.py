"""`steth port show REF` and `steth neutron agent list`: what Neutron says (openstacksdk).

Connection settings come from clouds.yaml with OS_CLOUD / --os-cloud, OS_* variables or
--os-* options, as for the `openstack` client (options of the app: `steth --help` lists them).
"""

from __future__ import annotations

import argparse

from .base import StethLister


class PortShow(StethLister):
    """Show a Neutron port (by ID, MAC or fixed IP) or a server's ports, with network and DHCP agents.

    Status, binding host and VIF type, network, segment (type, physical network, id), MTU,
    subnets, and the DHCP agents hosting the network (alive or not)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("ref", metavar="PORT_OR_SERVER", help="port ID, MAC address, fixed IP, or server name/ID")
        return parser

    def take_action(self, args: argparse.Namespace):
        cloud = self.cloud
        columns = [
            "port",
            "mac",
            "fixed_ips",
            "status",
            "host",
            "vif_type",
            "network",
            "type",
            "physnet",
            "segment",
            "mtu",
            "subnets",
            "dhcp_agents",
        ]
        rows = []
        table = self.is_table(args)
        for p in cloud.ports_of(args.ref):
            net = cloud.network(p.network_id)
            seg = net.segment
            dhcp = cloud.dhcp_agents(p.network_id)
            subnets = [f"{s.cidr} dhcp={'on' if s.enable_dhcp else 'off'}" for s in net.subnets]
            agents = [f"{a.host}:{'alive' if a.alive else 'DEAD'}" for a in dhcp]
            rows.append(
                [
                    p.id,
                    p.mac_address,
                    ", ".join(p.ips) if table else p.ips,
                    p.status,
                    p.binding_host,
                    p.vif_type,
                    f"{net.name} ({net.id})" if table else net.id,
                    seg.network_type if seg else None,
                    seg.physical_network if seg else None,
                    seg.segmentation_id if seg else None,
                    net.mtu,
                    "\n".join(subnets) if table else subnets,
                    "\n".join(agents) or "none" if table else agents,
                ]
            )
            if p.status != "ACTIVE" or not p.bound:
                self.summary.append(f"port {p.id}: status {p.status}, vif_type {p.vif_type}")
            if not any(a.alive for a in dhcp) and any(s.enable_dhcp for s in net.subnets):
                self.summary.append(f"network {net.id}: no alive DHCP agent hosts it")
        if self.summary:
            self.exit_status = 1
        return columns, rows


class NeutronAgentList(StethLister):
    """Neutron's agents with their configuration: bridge mappings, tunnel IP and types, integration bridge."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--host", help="only this host's agents")
        return parser

    def take_action(self, args: argparse.Namespace):
        cloud = self.cloud
        table = self.is_table(args)
        rows = []
        for a in sorted(cloud.agents(host=args.host), key=lambda a: (a.host, a.binary)):
            mappings = a.bridge_mappings
            rows.append(
                [
                    a.host,
                    a.binary,
                    a.agent_type,
                    a.alive,
                    a.admin_state_up,
                    " ".join(f"{k}:{v}" for k, v in sorted(mappings.items())) if table else mappings,
                    a.tunnel_ip,
                    ",".join(a.tunnel_types) if table else a.tunnel_types,
                    a.integration_bridge,
                    a.datapath_type,
                    a.id,
                ]
            )
            if not a.alive:
                self.summary.append(f"agent {a.binary} on {a.host} is not alive")
        if self.summary:
            self.exit_status = 1
        return [
            "host",
            "binary",
            "type",
            "alive",
            "admin_up",
            "bridge_mappings",
            "tunnel_ip",
            "tunnel_types",
            "integration_bridge",
            "datapath_type",
            "id",
        ], rows
