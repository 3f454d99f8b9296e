"""Doctor's check of the metadata path on ML2/OVN (root cause 9): what a VM's request to
http://169.254.169.254 crosses on its own chassis.

The network's metadata port in NB (an LSP of type ``localport``, Neutron device_owner
``network:distributed``); the host's "OVN Metadata agent" alive (Neutron's view, and its acknowledgement
of the SB's nb_cfg in Chassis_Private); on the host, the ``ovnmeta-<network id>`` namespace with
169.254.169.254 on its tap, that tap's peer on br-int with the metadata port's iface-id, and haproxy (the
PID its pid file names) listening on :80 inside the namespace. Evidence the agent cannot read is an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...openstack.ovn_model import LogicalSwitchPort
from ...wire.listeners import NetnsListeners
from ...wire.models import OvsShowResponse
from .. import api
from .evidence import KINDS, Evidence, Gatherer, Kind, Unprobed, nothing
from .facts import Facts
from .model import CheckResult
from .ovn_checks import OVN_DB, OvnCheck, OvnDb
from .ovs_evidence import OVS
from .registry import check

METADATA_IP = "169.254.169.254"
NS_PREFIX = "ovnmeta-"
DISTRIBUTED = "network:distributed"
AGENT_TYPE = "OVN Metadata agent"
SB_CFG_KEY = "neutron:ovn-metadata-sb-cfg"
# the agent acknowledges an nb_cfg bump after a random delay of up to max(3, min(agent_down_time // 3, 10)) s
ACK_GRACE_MS = 12000


@dataclass(frozen=True)
class MetaNs:
    """The host's ovnmeta- namespace: its interfaces and who listens in it (``exists`` False: not there)."""

    name: str
    listeners: NetnsListeners

    @property
    def exists(self) -> bool:
        return self.listeners.exists


def ns_name(network_id: str) -> str:
    return f"{NS_PREFIX}{network_id}"


async def _read_ns(g: Gatherer) -> MetaNs | Unprobed | None:
    f = g.f
    host = f.vm_port.binding_host if f.port is not None else None
    if not host or f.network is None:
        return None
    name = ns_name(f.network.id)
    got = await g.on(host, lambda n: api.netns_listeners(g.client, n, name))
    return got if isinstance(got, Unprobed) else MetaNs(name, got)


META_NS: Kind[MetaNs | Unprobed | None] = KINDS.add(Kind("ovn-metadata-ns", _read_ns, nothing))


def metadata_ports(db: OvnDb, network_id: str) -> list[LogicalSwitchPort]:
    """The network's metadata port(s): localport LSPs Neutron made with device_owner network:distributed."""
    switch = f"neutron-{network_id}"
    return [
        p
        for p in db.nb.ports.values()
        if p.switch == switch and p.type == "localport" and p.external_ids.get("neutron:device_owner") == DISTRIBUTED
    ]


def agent_ack(db: OvnDb, host: str, now_ms: float) -> str:
    """Why the host's metadata agent is not acknowledging the SB ("" when it is, or cannot be told yet)."""
    chassis = next((c.name for c in db.sb.chassis.values() if c.hostname == host or c.name == host), None)
    priv = db.sb.chassis_private.get(chassis or "")
    if priv is None:
        return ""  # the chassis check names a missing chassis
    raw = priv.external_ids.get(SB_CFG_KEY)
    if raw is None:
        return f"Chassis_Private {priv.name} has no {SB_CFG_KEY}: no metadata agent ever registered on this chassis"
    seen = int(raw) if raw.lstrip("-").isdigit() else -1
    bumped_ms = now_ms - db.nb.nb_global.nb_cfg_timestamp
    # two bumps behind: it missed one older than Neutron's ping interval (agent_down_time / 2, more than the
    # agent's delay); one behind: only once the latest bump is older than the longest delay
    if seen < db.sb.nb_cfg - 1 or (seen < db.sb.nb_cfg and bumped_ms > ACK_GRACE_MS):
        return (
            f"Chassis_Private {priv.name} {SB_CFG_KEY} {seen} behind SB_Global.nb_cfg {db.sb.nb_cfg} "
            f"{bumped_ms / 1000:.0f} s after the bump"
        )
    return ""


@check
class OvnMetadata(OvnCheck):
    key = "ovn-metadata"
    name = "OVN metadata path"
    plane = "control"
    needs = (OVN_DB, OVS, META_NS)

    def applies(self, f: Facts) -> bool:
        """On a bound port of a cloud that runs metadata agents (without any: metadata is not deployed)."""
        deployed = any(a.agent_type == AGENT_TYPE for a in f.agents)
        return deployed and f.port is not None and f.network is not None and bool(f.port.binding_host)

    def judge_ovn(self, f: Facts, ev: Evidence, db: OvnDb) -> CheckResult:
        return judge(self, f, db, ev[OVS].get(f.vm_port.binding_host or ""), ev[META_NS], time.time() * 1000)


def judge(
    c: OvnMetadata,
    f: Facts,
    db: OvnDb,
    ovs: OvsShowResponse | Unprobed | None,
    meta: MetaNs | Unprobed | None,
    now_ms: float,
) -> CheckResult:
    """The first broken link of the metadata path, upstream first (a pure function of the evidence)."""
    assert f.network is not None
    net, host = f.network.id, f.vm_port.binding_host or ""
    ports = metadata_ports(db, net)
    if not ports:
        return c.fail(
            f"network {net} has no metadata port in NB (an LSP of type localport with device_owner {DISTRIBUTED})",
            cause="no metadata port for the network",
            catalogue=9,
            next_step="is [ovn] ovn_metadata_enabled = true in Neutron? `steth ovn sync-check`; "
            "neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair creates it",
        )
    mport = ports[0]
    agents = [a for a in f.agents_on(host) if a.agent_type == AGENT_TYPE]
    if not agents:
        return c.fail(
            f"Neutron lists no {AGENT_TYPE} on {host}",
            cause="metadata agent missing",
            catalogue=9,
            next_step=f"start neutron-ovn-metadata-agent on {host} "
            "(its [ovn] ovn_sb_connection, [ovs] ovsdb_connection)",
        )
    late = agent_ack(db, host, now_ms)
    if not agents[0].alive or late:
        why = late or f"Neutron shows it dead (last heartbeat {agents[0].last_heartbeat or 'never'})"
        return c.fail(
            f"{AGENT_TYPE} on {host}: {why}",
            cause="metadata agent down",
            catalogue=9,
            next_step=f"neutron-ovn-metadata-agent on {host}: running, connected to the SB? (its log)",
        )
    if (bad := c.unusable(meta, "the port is not bound to a host")) is not None:
        return bad
    assert isinstance(meta, MetaNs)
    if not meta.exists:
        return c.fail(
            f"{host} has no namespace {meta.name}: the metadata agent has not provisioned this network there",
            cause="no metadata proxy on the path",
            catalogue=9,
            next_step=f"the metadata agent's log on {host} (provisioning of datapath {net})",
        )
    if meta.listeners.verdict.value == "error":
        return c.error(f"cannot read {meta.name} on {host}: {meta.listeners.detail}")
    taps = {i.name: i for i in meta.listeners.interfaces if i.name != "lo"}
    holding = [n for n, i in taps.items() if any(a.address == METADATA_IP for a in i.addresses)]
    if not holding:
        return c.fail(
            f"{meta.name} on {host} has no {METADATA_IP} on its interfaces ({', '.join(taps) or 'none'})",
            cause="no metadata proxy on the path",
            catalogue=9,
            next_step="restart the metadata agent (it re-provisions the namespace)",
        )
    if (bad := c.unusable(ovs, f"{host}'s Open vSwitch was not read")) is not None:
        return bad
    assert isinstance(ovs, OvsShowResponse)
    plugged = ovs.with_iface_id(mport.name)
    if plugged is None or plugged[0].name != "br-int":
        where = f"on {plugged[0].name}" if plugged else "nowhere"
        return c.fail(
            f"the metadata port {mport.name}'s tap is {where} on {host} (want br-int with iface-id {mport.name})",
            cause="metadata port not plugged",
            catalogue=9,
            next_step=f"`ovs-vsctl find Interface external_ids:iface-id={mport.name}` on {host}; restart the agent",
        )
    web = [x for x in meta.listeners.on_port(80) if x.address in (METADATA_IP, "0.0.0.0", "::")]
    proxies = [p for x in web for p in x.processes if p.command == "haproxy" and p.pidfile_pid == p.pid]
    if not proxies:
        held = ", ".join(f"{p.command} {p.pid} (pid file {p.pidfile_pid})" for x in web for p in x.processes)
        return c.fail(
            f"nothing in {meta.name} on {host} is a haproxy listening on {METADATA_IP}:80 whose pid file names it"
            + (f" (held by {held})" if held else ""),
            cause="no metadata proxy on the path",
            catalogue=9,
            next_step=f"the metadata agent on {host} respawns haproxy; its log says why it stopped",
        )
    p = proxies[0]
    return c.ok(
        f"metadata port {mport.name[:8]} ({' '.join(mport.addresses)}) plugged on br-int; {meta.name} has "
        f"{METADATA_IP} on {holding[0]}; haproxy {p.pid} (pid file {p.pidfile}) on :80; {AGENT_TYPE} alive"
    )
