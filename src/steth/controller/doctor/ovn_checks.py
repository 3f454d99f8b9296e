"""Doctor checks of an ML2/OVN port, judged on one read of the Northbound and Southbound databases.

The evidence kind ``ovn-db`` reads both through steth.conf's [ovn] section (openstack/ovn.py, read-only),
and asks the SB leader for northd's lock (openstack/ovn_northd.py). Control plane, upstream first:
ovn-northd active (it holds the lock) and translating NB to SB, the port's Logical_Switch_Port, the
chassis of its binding host alive, its Port_Binding on that chassis and up, the subnet's DHCP_Options,
the router's gateway port on a live gateway chassis, the floating IP's NAT row.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import ClassVar

from ...errors import StethError
from ...openstack.ovn_model import NbSnapshot, SbSnapshot
from ...openstack.ovn_northd import NorthdLock
from ...wire.models import OvsShowResponse, Verdict
from ..checks import ovn_status
from ..checks.ovn_status import bfd_down
from .evidence import KINDS, Evidence, Gatherer, Kind, Unprobed, nothing
from .facts import Facts
from .model import CheckResult
from .ovs_evidence import OVS
from .registry import Check, check


@dataclass(frozen=True)
class OvnDb:
    nb: NbSnapshot
    sb: SbSnapshot
    lock: NorthdLock | None = None  # the SB leader's answer to a request for northd's lock


async def _read(g: Gatherer) -> OvnDb | Unprobed | None:
    from ...openstack import ovn, ovn_northd

    config = g.config.ovn
    if config is None:
        return Unprobed("steth.conf has no [ovn] section (nb_connection, sb_connection)")

    def lock() -> NorthdLock:
        return ovn_northd.probe(config, ovn.cluster(config, "sb"))

    try:
        nb, sb, held = await asyncio.gather(
            asyncio.to_thread(ovn.read_nb, config), asyncio.to_thread(ovn.read_sb, config), asyncio.to_thread(lock)
        )
    except StethError as exc:
        return Unprobed.of(exc)
    return OvnDb(nb, sb, held)


OVN_DB: Kind[OvnDb | Unprobed | None] = KINDS.add(Kind("ovn-db", _read, nothing))


class OvnCheck(Check):
    """A check judged on the NB/SB snapshot: ``judge`` reads it (or returns why it could not be read) and
    hands it to ``judge_ovn``."""

    needs: ClassVar[tuple[Kind[object], ...]] = (OVN_DB,)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult | list[CheckResult]:
        got = ev[OVN_DB]
        bad = self.unusable(got, "OVN's databases were not read")
        if bad is not None:
            return bad
        assert isinstance(got, OvnDb)
        return self.judge_ovn(f, ev, got)

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult | list[CheckResult]:
        raise NotImplementedError


@check
class Northd(OvnCheck):
    key = "ovn-northd"
    name = "ovn-northd"
    plane = "control"

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        """`ovn status`'s judgement on one read: the lock, else drift; neither seen is not a proof."""
        found = ovn_status.northd((db.nb, db.sb), (db.nb, db.sb), 0, db.lock)
        if found.verdict == Verdict.FAIL:
            return self.fail(
                found.evidence,
                cause="ovn-northd not running (NB/SB drift)",
                catalogue=14,
                next_step="check ovn-northd on the controllers (`ovn-appctl -t ovn-northd status`); `steth ovn status`",
            )
        if found.verdict == Verdict.OK:
            return self.ok(found.evidence)
        return self.skipped(found.evidence, unproven=True)


@check
class LogicalPort(OvnCheck):
    key = "ovn-lsp"
    name = "OVN logical switch port"
    plane = "control"

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        p = f.vm_port
        lsp = db.nb.ports.get(p.id)
        if lsp is None:
            return self.fail(
                f"Neutron port {p.id} has no Logical_Switch_Port in the Northbound DB",
                cause="port missing in OVN (Neutron/NB drift)",
                catalogue=14,
                next_step="`steth ovn sync-check`; neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair",
            )
        want = " ".join([p.mac_address, *p.ips])
        if want not in lsp.addresses:
            return self.fail(
                f"LSP addresses {' | '.join(lsp.addresses)}, Neutron has {want}",
                cause="port addresses differ in OVN (Neutron/NB drift)",
                catalogue=14,
                next_step="`steth ovn sync-check --port " + p.id + "`",
            )
        return self.ok(f"LSP {lsp.name} on {lsp.switch}: {want}, up={lsp.up}")


ACK_GRACE_MS = 3000  # a live ovn-controller acknowledges an nb_cfg bump well within this


@check
class ChassisAlive(OvnCheck):
    """The host's chassis: registered under the system-id its OVS has now (else a stale chassis), once,
    and alive (Chassis_Private.nb_cfg following the bumps Neutron makes when its agents are listed)."""

    key = "ovn-chassis-alive"
    name = "OVN chassis of the host"
    plane = "control"
    needs = (OVN_DB, OVS)

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        host = f.vm_port.binding_host or ""
        found = [c for c in db.sb.chassis.values() if c.hostname == host or c.name == host]
        shown = ev[OVS].get(host)
        sid = shown.system_ids.get("system-id", "") if isinstance(shown, OvsShowResponse) else ""
        if sid and sid not in db.sb.chassis:
            stale = ", ".join(c.name for c in found) or "none"
            ip = shown.system_ids.get("ovn-encap-ip", "") if isinstance(shown, OvsShowResponse) else ""
            held = [c.name for c in db.sb.chassis.values() for e in c.encaps if ip and e.ip == ip]
            blocked = f"; Chassis {held[0]}'s Encap still holds {ip}, so {sid} cannot register" if held else ""
            return self.fail(
                f"{host}'s Open vSwitch has system-id {sid}, but the SB has no Chassis {sid}; "
                f"chassis with hostname {host}: {stale} (stale: no ovn-controller runs as it){blocked}",
                cause="stale chassis (the node's system-id changed)",
                catalogue=15,
                next_step=f"put system-id back on {host} (`ovs-vsctl set Open_vSwitch . external_ids:system-id=...`) "
                f"or delete the stale chassis (`ovn-sbctl chassis-del {found[0].name if found else '<name>'}`)",
            )
        if not found:
            return self.fail(
                f"no Chassis with hostname {host!r} in the Southbound DB",
                cause="chassis missing (ovn-controller never registered)",
                catalogue=15,
                next_step=f"is ovn-controller running on {host}, with ovn-remote pointing at the SB?",
            )
        c = next((c for c in found if c.name == sid), found[0])
        twins = [o.name for o in found if o.name != c.name]
        priv = db.sb.chassis_private.get(c.name)
        bumped_ms = time.time() * 1000 - db.nb.nb_global.nb_cfg_timestamp
        if priv is None or (priv.nb_cfg < db.sb.nb_cfg and bumped_ms > ACK_GRACE_MS):
            seen = priv.nb_cfg if priv else "none"
            return self.fail(
                f"chassis {c.name}: Chassis_Private.nb_cfg {seen} behind SB_Global.nb_cfg {db.sb.nb_cfg} "
                f"{bumped_ms / 1000:.0f} s after the bump: its ovn-controller does not answer the SB",
                cause="ovn-controller down",
                catalogue=3,
                next_step=f"ovn-controller on {host}: running, connected? (`ovn-appctl connection-status`)",
            )
        if twins:
            return self.fail(
                f"hostname {host} is chassis {c.name} and also {', '.join(twins)} (stale or duplicate system-id)",
                cause="stale chassis (the node's system-id changed)",
                catalogue=15,
                next_step=f"`steth ovn status`; delete the stale one: `ovn-sbctl chassis-del {twins[0]}`",
            )
        encaps = ", ".join(f"{e.type} {e.ip}" for e in c.encaps)
        acked = "" if priv.nb_cfg >= db.sb.nb_cfg else f" (bump {db.sb.nb_cfg} of {bumped_ms:.0f} ms ago not yet acked)"
        where = f", system-id {sid} on its OVS" if sid else ""
        return self.ok(f"chassis {c.name} alive (nb_cfg {priv.nb_cfg}){acked}, encap {encaps}{where}")


@check
class Binding(OvnCheck):
    key = "ovn-port-binding"
    name = "OVN port binding"
    plane = "control"

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        p = f.vm_port
        pb = db.sb.port_bindings.get(p.id)
        if pb is None:
            return self.fail(
                f"no Port_Binding for {p.id} in the Southbound DB",
                cause="port not translated to the SB (northd or NB drift)",
                catalogue=14,
                next_step="`steth ovn status` (northd); `steth ovn sync-check`",
            )
        host = p.binding_host or ""
        chassis = next((c.name for c in db.sb.chassis.values() if c.hostname == host or c.name == host), host)
        if pb.chassis != chassis or not pb.up:
            return self.fail(
                f"Port_Binding chassis {pb.chassis or 'none'} (requested {pb.requested_chassis or '-'}), up={pb.up}; "
                f"Neutron binds it to {host}",
                cause="Port_Binding without chassis (no OVS interface with this iface-id there)",
                catalogue=3,
                next_step=f"on {host}: `ovs-vsctl find Interface external_ids:iface-id={p.id}`",
            )
        return self.ok(f"bound to chassis {pb.chassis}, up")


@check
class DhcpOptions(OvnCheck):
    key = "ovn-dhcp-options"
    name = "OVN DHCP options"
    plane = "control"

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.subnet is not None and f.subnet.enable_dhcp

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        s = f.subnet
        assert s is not None
        rows = [d for d in db.nb.dhcp_options.values() if d.subnet_id == s.id and "port_id" not in d.external_ids]
        lsp = db.nb.ports.get(f.vm_port.id)
        if not rows:
            return self.fail(
                f"subnet {s.id} ({s.cidr}) has DHCP enabled but no DHCP_Options row: ovn-controller answers nothing",
                cause="no DHCP_Options for the subnet",
                catalogue=6,
                next_step="`steth ovn sync-check`; update the subnet (or neutron-ovn-db-sync-util repair)",
            )
        if lsp is not None and not lsp.dhcpv4_options:
            return self.fail(
                f"the LSP has no dhcpv4_options (the subnet's row is {rows[0].uuid[:8]})",
                cause="port without DHCP options",
                catalogue=6,
                next_step="`steth ovn sync-check --port " + f.vm_port.id + "`",
            )
        return self.ok(f"DHCP_Options {rows[0].cidr}: router {rows[0].options.get('router', '-')}")


@check
class GatewayChassis(OvnCheck):
    key = "ovn-gateway"
    name = "OVN router gateway"
    plane = "control"

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.router is not None

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult | list[CheckResult]:
        assert f.router is not None
        lr = db.nb.routers.get(f"neutron-{f.router.id}")
        if lr is None:
            return self.fail(
                f"router {f.router.id} has no Logical_Router in NB",
                cause="router missing in OVN (Neutron/NB drift)",
                catalogue=14,
                next_step="`steth ovn sync-check`",
            )
        gw_port = lr.external_ids.get("neutron:gw_port_id", "")
        gw = [
            db.nb.router_ports[n] for n in lr.ports if n in db.nb.router_ports and db.nb.router_ports[n].gateway_chassis
        ]
        if not gw and gw_port:
            lrp_name = f"lrp-{gw_port}"
            where = "has no Gateway_Chassis" if lrp_name in db.nb.router_ports else "does not exist in NB"
            return self.fail(
                f"router {f.router.id} has its external gateway on port {gw_port}, but {lrp_name} {where}: "
                "no chassis hosts the router's SNAT and floating IPs",
                cause="gateway chassis missing or down",
                catalogue=15,
                next_step="`steth ovn status`; Neutron reschedules gateways when a chassis with "
                "enable-chassis-as-gw registers (or `neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair`)",
            )
        if not gw:
            return self.skipped("the router has no gateway port (no external gateway)")
        lrp = gw[0]
        pb = db.sb.port_bindings.get(f"cr-{lrp.name}")
        alive = {n for n, p in db.sb.chassis_private.items() if n in db.sb.chassis and p.nb_cfg >= db.sb.nb_cfg}
        names = ", ".join(g.chassis_name for g in lrp.gateway_chassis)
        if pb is None or not pb.chassis or pb.chassis not in alive:
            where = pb.chassis if pb and pb.chassis else "no chassis"
            return self.fail(
                f"gateway port {lrp.name} bound to {where}; gateway chassis {names}; alive {', '.join(sorted(alive))}",
                cause="gateway chassis missing or down",
                catalogue=15,
                next_step="`steth ovn status`: is a chassis with enable-chassis-as-gw alive?",
            )
        return self.ok(f"gateway port {lrp.name} on {pb.chassis} (alive); candidates {names}")


@check
class FloatingIpNat(OvnCheck):
    key = "ovn-floating-ip-nat"
    name = "OVN floating IP NAT"
    plane = "control"

    def applies(self, f: Facts) -> bool:
        return f.port is not None and bool(f.floating_ips)

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        nats = {n.external_ip: n for lr in db.nb.routers.values() for n in lr.nat if n.type == "dnat_and_snat"}
        missing = [fip.address for fip in f.floating_ips if fip.address not in nats]
        if missing:
            return self.fail(
                f"floating IP {', '.join(missing)}: no dnat_and_snat NAT row in NB",
                cause="NAT row of the floating IP missing",
                catalogue=22,
                next_step="`steth ovn sync-check`; re-associate the floating IP",
            )
        shown = ", ".join(f"{a} -> {nats[a].logical_ip}" for a in (fip.address for fip in f.floating_ips))
        return self.ok(f"dnat_and_snat {shown}")


@check
class Tunnels(OvnCheck):
    """br-int of the VM's host has a tunnel port to every other chassis' encapsulation IP (ovn-controller
    makes them from the SB's Encap rows). A missing one: that chassis is unreachable from this one."""

    key = "ovn-tunnels"
    name = "OVN tunnels of the host"
    plane = "data"
    needs = (OVN_DB, OVS)

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        host = f.vm_port.binding_host or ""
        shown = ev[OVS].get(host)
        if (bad := self.unusable(shown, "the port is not bound to a host")) is not None:
            return bad
        assert isinstance(shown, OvsShowResponse)
        mine = shown.system_ids.get("system-id", host)
        want = {e.ip: c.name for c in db.sb.chassis.values() if c.name != mine and c.hostname != host for e in c.encaps}
        have = shown.tunnel_ofports()
        missing = sorted(f"{ip} ({name})" for ip, name in want.items() if ip not in have)
        if missing:
            return self.fail(
                f"{host}'s br-int has no tunnel port to {', '.join(missing)} "
                f"(tunnels to {len(want) - len(missing)} of {len(want)} chassis)",
                cause="tunnel endpoint missing",
                catalogue=5,
                next_step=f"ovn-controller on {host}: connected to the SB? the other chassis' ovn-encap-ip right?",
            )
        if down := bfd_down(shown, want):
            return self.fail(
                f"{host}'s tunnels with BFD not up: {'; '.join(down)}",
                cause="tunnel BFD down (the other chassis does not hear this one, or not at all)",
                catalogue=5,
                next_step=f"Geneve (UDP 6081) between {host} and those chassis: firewall, underlay route, MTU",
            )
        bfd = sum(1 for ip, i in shown.tunnel_interfaces().items() if ip in want and i.bfd.get("enable") == "true")
        note = f"; BFD up on {bfd}" if bfd else ""
        return self.ok(f"tunnel ports to all {len(want)} other chassis: {', '.join(sorted(want.values()))}{note}")
