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
from .openstack import add_openstack_options, connect_from

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
    behind the leader; per cluster: one leader and a quorum. ovn-northd: NB_Global.nb_cfg propagated to
    SB_Global. Per chassis: registered once (no second chassis for its hostname, a Chassis_Private),
    alive (Chassis_Private.nb_cfg keeping up with SB_Global.nb_cfg), encapsulation IPs (unique), bridge
    mappings, gateway role. Per router gateway port: its chassisredirect binding on a live gateway chassis.
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
        add_openstack_options(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...openstack import ovn

        if not 0 <= args.settle <= 120:
            raise ConfigError(f"--settle {args.settle} is out of range 0-120")
        config = ovn_config(self.app.options)
        findings: list[Finding] = []
        members = {db: ovn.cluster(config, db) for db in ("nb", "sb")}
        for db in ("nb", "sb"):
            findings += ovn_status.cluster(db, members[db])
        if not openstack_given(args) or args.no_neutron:
            pass
        else:
            findings.append(self._neutron_agents(args))
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
            findings.append(ovn_status.northd(before, (nb, sb), args.settle))
            findings += ovn_status.chassis(nb, sb)
            findings += ovn_status.gateways(nb, sb)
        unreachable = any(not any(m.reachable for m in ms) for ms in members.values())
        self.exit_status = EXIT_UNREACHABLE if unreachable else exit_status_for(f.verdict for f in findings)
        bad = [f for f in findings if f.verdict in (Verdict.FAIL, Verdict.ERROR)]
        self.summary = [f"ovn status: {len(bad)} problem(s) in {len(findings)} findings"]
        return COLUMNS, [[f.check, f.subject, f.verdict.value, f.evidence] for f in findings]

    def _neutron_agents(self, args: argparse.Namespace) -> Finding:
        try:
            agents = [a for a in connect_from(args).agents() if "OVN" in a.agent_type or "ovn" in a.binary]
        except StethError as exc:
            return Finding("neutron", "agents", Verdict.ERROR, str(exc))
        dead = sorted(f"{a.host} ({a.agent_type})" for a in agents if not a.alive)
        text = f"{len(agents)} OVN agents in Neutron"
        if dead:
            return Finding("neutron", "agents", Verdict.FAIL, f"{text}, not alive: {', '.join(dead)}")
        return Finding("neutron", "agents", Verdict.OK, f"{text}, all alive")
