"""`steth ovn status` and `steth ovn sync-check`: an ML2/OVN cloud's control plane and its consistency.

Both read the OVN Northbound and Southbound databases named in steth.conf's [ovn] section (read-only);
sync-check also asks Neutron (clouds.yaml / OS_CLOUD) and each chassis' steth-agent (its local OVS).
"""

from __future__ import annotations

import argparse
import os
import time

from ...errors import EXIT_UNREACHABLE, ConfigError, StethError
from ...openstack.ovn_model import NbSnapshot, OvnConfig, SbSnapshot
from ...wire.models import Verdict
from ..checks import ovn_status
from ..checks.ovn_status import Finding
from ..config import load as load_config
from .base import StethLister, exit_status_for

COLUMNS = ["check", "subject", "verdict", "evidence"]


def ovn_config(app_options) -> OvnConfig:
    config = load_config(app_options.config_file, require_nodes=False)
    if config.ovn is None:
        raise ConfigError(
            f"{config.source} has no [ovn] section",
            "add [ovn] nb_connection = ... and sb_connection = ... (Neutron's ovn_nb_connection/ovn_sb_connection)",
        )
    return config.ovn


def openstack_given(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "os_cloud", None) or os.environ.get("OS_CLOUD") or os.environ.get("OS_AUTH_URL"))


def read_both(config: OvnConfig) -> tuple[NbSnapshot | None, SbSnapshot | None, list[Finding]]:
    from ...openstack import ovn

    out: list[Finding] = []
    snaps = []
    for db, reader in (("nb", ovn.read_nb), ("sb", ovn.read_sb)):
        try:
            snaps.append(reader(config))
        except StethError as exc:
            snaps.append(None)
            out.append(Finding("read", db, Verdict.ERROR, str(exc)))
    return snaps[0], snaps[1], out


def lagging(nb: NbSnapshot, sb: SbSnapshot) -> bool:
    """Something is still propagating: worth a second look after a pause before calling it broken."""
    if sb.nb_cfg < nb.nb_global.nb_cfg or nb.nb_global.sb_cfg < nb.nb_global.nb_cfg:
        return True
    return any(p.nb_cfg < sb.nb_cfg for p in sb.chassis_private.values())


class OvnStatus(StethLister):
    """Health of the OVN control plane: NB/SB clusters, ovn-northd, chassis, gateway chassis.

    Per NB and SB member: reachable, connected to its cluster, leader or follower, log index and its lag
    behind the leader; per cluster: one leader and a quorum. ovn-northd: the SB leader refuses steth the
    lock 'ovn_northd' (the active northd holds it; steth gives it back at once if granted), and
    NB_Global.nb_cfg propagated to SB_Global. Per chassis: registered once (no second chassis for its
    hostname, a Chassis_Private), alive (Chassis_Private.nb_cfg keeping up with SB_Global.nb_cfg),
    encapsulation IPs (unique), bridge mappings, gateway role. Per router gateway port: its
    chassisredirect binding on a live gateway chassis.
    With an OpenStack cloud configured, Neutron's agent list is read first: Neutron then bumps nb_cfg
    (its own liveness check), which shows whether northd and every ovn-controller still follow.
    Exit status: 0 healthy, 1 a problem, 2 config error, 3 no member of a database reachable.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--settle",
            type=float,
            default=4.0,
            metavar="SECONDS",
            help="when nb_cfg is still propagating, look again after this long before judging (default 4)",
        )
        parser.add_argument(
            "--no-neutron", action="store_true", help="do not ask Neutron's agent list (no nb_cfg bump by Neutron)"
        )
        parser.add_argument(
            "--no-agents", action="store_true", help="do not read the chassis' OVS through their steth-agents"
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...openstack import ovn, ovn_northd

        if not 0 <= args.settle <= 120:
            raise ConfigError(f"--settle {args.settle} is out of range 0-120")
        config = ovn_config(self.app.options)
        findings: list[Finding] = []
        members = {db: ovn.cluster(config, db) for db in ("nb", "sb")}
        for db in ("nb", "sb"):
            findings += ovn_status.cluster(db, members[db])
        ask_neutron = openstack_given(args) and not args.no_neutron
        if ask_neutron:  # Neutron bumps NB_Global.nb_cfg when asked (its liveness check); judged below
            self._neutron_agents(args)
        nb, sb, errors = read_both(config)
        findings += errors
        if nb is not None and sb is not None:
            before = (nb, sb)
            if lagging(nb, sb) and args.settle:
                time.sleep(args.settle)
                nb2, sb2, errors = read_both(config)
                findings += errors
                if nb2 is not None and sb2 is not None:
                    nb, sb = nb2, sb2
            lock = ovn_northd.probe(config, members["sb"])
            findings.append(ovn_status.northd(before, (nb, sb), args.settle, lock))
            findings += ovn_status.chassis(nb, sb)
            findings += ovn_status.gateways(nb, sb)
            if not args.no_agents:
                hosts = {c.hostname or c.name: c.name for c in sb.chassis.values()}
                shows = chassis_ovs(self.app.options, set(hosts), bridge=None)
                findings += ovn_status.chassis_ovs(sb, {hosts.get(h, h): (v.show, v.error) for h, v in shows.items()})
        if ask_neutron:
            # asked again once the chassis had time to follow the bump: Neutron calls an agent dead
            # while its Chassis_Private.nb_cfg trails the bump it just made
            if args.settle:
                time.sleep(min(args.settle, 2.0))
            findings.append(self._neutron_agents(args))
        unreachable = any(not any(m.reachable for m in ms) for ms in members.values())
        self.exit_status = EXIT_UNREACHABLE if unreachable else exit_status_for(f.verdict for f in findings)
        bad = [f for f in findings if f.verdict in (Verdict.FAIL, Verdict.ERROR)]
        self.summary = [f"ovn status: {len(bad)} problem(s) in {len(findings)} findings"]
        return COLUMNS, [[f.check, f.subject, f.verdict.value, f.evidence] for f in findings]

    def _neutron_agents(self, args: argparse.Namespace) -> Finding:
        try:
            agents = [a for a in self.cloud.agents() if "OVN" in a.agent_type or "ovn" in a.binary]
        except StethError as exc:
            return Finding("neutron", "agents", Verdict.ERROR, str(exc))
        dead = sorted(f"{a.host} ({a.agent_type})" for a in agents if not a.alive)
        text = f"{len(agents)} OVN agents in Neutron"
        if dead:
            return Finding("neutron", "agents", Verdict.FAIL, f"{text}, not alive: {', '.join(dead)}")
        return Finding("neutron", "agents", Verdict.OK, f"{text}, all alive")


SYNC_COLUMNS = ["kind", "id", "check", "verdict", "neutron", "ovn"]


def chassis_ovs(app_options, chassis_names: set[str], bridge: str | None = "br-int") -> dict:
    """Each chassis' local OVS through its steth-agent (chassis hostname = node name in [nodes])."""
    from .. import api
    from ..checks.ovn_sync import NodeOvs
    from ..client import AgentClient, run

    config = load_config(app_options.config_file, require_nodes=False)
    nodes = [config.nodes[n] for n in sorted(chassis_names) if n in config.nodes]
    if not nodes:
        return {}

    async def go():
        async with AgentClient(config) as client:
            return await client.fan_out(nodes, lambda n: api.ovs_show(client, n, bridge))

    out = {}
    for o in run(go()):
        out[o.node.name] = NodeOvs(show=o.value, error=o.error.message if o.error else "")
    return out


class OvnSyncCheck(StethLister):
    """Neutron against OVN, row by row: ports, subnets' DHCP, routers and NAT, security groups.

    Port: Neutron port <-> NB Logical_Switch_Port (exists, addresses, port security, up) <-> SB Port_Binding
    (chassis of its binding host, up) <-> the bound chassis' OVS Interface with that iface-id (asked from
    its steth-agent when [nodes] names the chassis) <-> Neutron's status; orphan LSPs. Subnet with DHCP
    <-> DHCP_Options (cidr, router) and LSPs pointing at it. Router <-> Logical_Router, its ports, SNAT
    rows, gateway chassis; floating IP <-> dnat_and_snat row. Security group <-> Port_Group and ACLs.
    Lists only drift (what Neutron says, what OVN says). Exit status 0 in sync, 1 drift, 2 config, 3 unreachable.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--port", metavar="PORT_ID", help="check only this Neutron port's chain")
        parser.add_argument("--no-agents", action="store_true", help="do not ask the chassis' steth-agents")
        return parser

    def take_action(self, args: argparse.Namespace):
        from concurrent.futures import ThreadPoolExecutor

        from ...openstack import ovn
        from ...openstack.adapter import _api
        from ..checks import ovn_neutron, ovn_sync, ovn_sync_l3

        config = ovn_config(self.app.options)
        cloud = self.cloud
        # Neutron, the NB and the SB read at once: each mostly waits on its server
        with ThreadPoolExecutor(3) as pool:
            got_view = pool.submit(ovn_neutron.neutron_view, cloud.conn)
            got_nb, got_sb = pool.submit(ovn.read_nb, config), pool.submit(ovn.read_sb, config)
            with _api("reading Neutron's ports, subnets, routers, floating IPs and security groups"):
                view = got_view.result()
            nb, sb = got_nb.result(), got_sb.result()
        only = None
        if args.port:
            if args.port not in {p["id"] for p in view.ports}:
                raise ConfigError(f"Neutron has no port {args.port}", "give a port ID from `openstack port list`")
            only = {args.port}
        bound = {pb.chassis for pb in sb.port_bindings.values() if pb.chassis}
        hosts = {sb.chassis[c].hostname or c: c for c in bound if c in sb.chassis}
        ovs = {} if args.no_agents else chassis_ovs(self.app.options, set(hosts))
        ovs = {hosts.get(h, h): v for h, v in ovs.items()}
        drift = ovn_sync.ports(view, nb, sb, ovs, only)
        if only is None:
            drift += ovn_sync.subnets(view, nb)
            drift += ovn_sync_l3.routers(view, nb, sb)
            drift += ovn_sync_l3.security_groups(view, nb)
        self.exit_status = exit_status_for(d.verdict for d in drift)
        checked = f"{len(only or view.ports)} ports"
        if only is None:
            checked += f", {len(view.subnets)} subnets, {len(view.routers)} routers, "
            checked += f"{len(view.floating_ips)} floating IPs, {len(view.security_groups)} security groups"
        agents = "no chassis OVS read" if not ovs else f"OVS of {', '.join(sorted(ovs))} read through their agents"
        self.summary = [f"ovn sync-check: {len(drift)} drift(s) in {checked}; {agents}"]
        return SYNC_COLUMNS, [[d.kind, d.id, d.check, d.verdict.value, d.neutron, d.ovn] for d in drift]


def parse_target(text: str) -> tuple[str, int | None]:
    """ADDRESS or ADDRESS:PORT (IPv4)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--to {text!r}: the port must be 1-65535")
    return host, int(port)


class OvnTrace(StethLister):
    """Trace one flow from a Neutron port through OVN's logical pipelines (ovn-trace against the SB).

    The microflow is filled from Neutron and the NB (inport, MACs, IPs; the router port's MAC when the
    destination is off-subnet). Shows each logical stage that acted (datapath, table, stage, priority,
    match, actions) and a verdict: delivered to which logical port, or dropped at which stage -- for an
    ACL drop, the security group rule or Neutron's default drop group. Needs ovn-trace on this host.
    Exit status: 0 delivered, 1 dropped, 2 usage/config, 3 unreachable.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("port", metavar="PORT_ID", help="Neutron port the packet enters by")
        parser.add_argument("--to", required=True, metavar="ADDRESS[:PORT]", help="destination IPv4 (and port)")
        parser.add_argument("--proto", choices=["icmp", "tcp", "udp"], default="icmp", help="default icmp")
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...openstack import ovn
        from ..checks import ovn_trace

        config = ovn_config(self.app.options)
        dst, dport = parse_target(args.to)
        cloud = self.cloud
        p = cloud.find_port(args.port)
        net = cloud.network(p.network_id)
        port = {"id": p.id, "mac_address": p.mac_address, "fixed_ips": p.fixed_ips, "network_id": p.network_id}
        nb = ovn.read_nb(config)
        flow = ovn_trace.microflow(port, dst, args.proto, dport, nb, [s.cidr for s in net.subnets])
        datapath = f"neutron-{p.network_id}"
        ssl = None
        if any(r.startswith("ssl:") for r in config.remotes("sb")):
            ssl = (config.sb_private_key or "", config.sb_certificate or "", config.sb_ca_cert or "")
        result = ovn_trace.judge(flow, datapath, ovn_trace.run_trace(config.remotes("sb"), datapath, flow, ssl), nb)
        rows = [
            [s.pipeline, s.datapath, s.table, s.name, s.priority, s.match, " ".join(s.actions)] for s in result.stages
        ]
        if result.delivered:
            self.summary = [f"ovn trace: delivered to {result.delivered_to}", f"flow: {flow}"]
            self.exit_status = 0
        else:
            where = f"{result.drop.pipeline} {result.drop.datapath} table {result.drop.table} {result.drop.name}"
            why = f": {result.acl}" if result.acl else ""
            self.summary = [f"ovn trace: dropped at {where}{why}" if result.drop else "ovn trace: no stage ran"]
            self.summary.append(f"flow: {flow}")
            self.exit_status = 1
        return ["pipeline", "datapath", "table", "stage", "priority", "match", "actions"], rows
