"""Doctor's OVN metadata check (root cause 9) on recorded-shape evidence: healthy, then each broken link."""

from __future__ import annotations

import dataclasses
import time

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence, Unprobed
from steth.controller.doctor.ovn_checks import OVN_DB
from steth.controller.doctor.ovn_metadata import AGENT_TYPE, META_NS, SB_CFG_KEY, MetaNs, ns_name
from steth.controller.doctor.ovs_evidence import OVS
from steth.openstack.ovn_model import ChassisPrivate, LogicalSwitchPort
from steth.openstack.records import NeutronAgent
from steth.wire.listeners import Listener, ListenerProcess, NetnsListeners
from steth.wire.models import (
    Address,
    Interface,
    OvsBridgeInfo,
    OvsInterfaceInfo,
    OvsPortInfo,
    OvsShowResponse,
    Verdict,
)

from .test_doctor_control import NET_ID, healthy
from .test_doctor_ovn import br_int, lab_db
from .test_ovn_analysis import sb

CHAIN = chain_for(Backend.OVN)
META_PORT = "m" * 8 + "-0000-0000-0000-" + "0" * 12
NS = ns_name(NET_ID)
HAPROXY_PID = 4242


def meta_lsp() -> LogicalSwitchPort:
    return LogicalSwitchPort(
        META_PORT,
        f"neutron-{NET_ID}",
        "localport",
        ("fa:16:3e:00:00:09 192.168.1.2",),
        external_ids={"neutron:device_owner": "network:distributed"},
    )


def db_with(meta: bool = True, acked: int = 5, nb_cfg: int = 5, bumped_ms_ago: float = 60_000):
    db = lab_db()
    ports = dict(db.nb.ports)
    if meta:
        ports[META_PORT] = meta_lsp()
    when = int(time.time() * 1000 - bumped_ms_ago)
    nb_global = dataclasses.replace(db.nb.nb_global, nb_cfg=nb_cfg, nb_cfg_timestamp=when)
    private = {
        "network": ChassisPrivate("network", "network", nb_cfg),
        "compute-1": ChassisPrivate("compute-1", "compute-1", nb_cfg, external_ids={SB_CFG_KEY: str(acked)}),
    }
    return dataclasses.replace(
        db,
        nb=dataclasses.replace(db.nb, ports=ports, nb_global=nb_global),
        sb=sb(nb_cfg=nb_cfg, private=private, bindings=db.sb.port_bindings),
    )


def ovs(plugged: bool = True, bridge: str = "br-int") -> OvsShowResponse:
    bridges = br_int("10.0.99.10")
    if plugged:
        tap = OvsPortInfo(
            name="tapmeta0",
            interfaces=[OvsInterfaceInfo(name="tapmeta0", ofport=9, external_ids={"iface-id": META_PORT})],
        )
        if bridge == "br-int":
            bridges[0].ports.append(tap)
        else:
            bridges.append(OvsBridgeInfo(name=bridge, ports=[tap]))
    return OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=bridges)


def interfaces(address: str = "169.254.169.254") -> list[Interface]:
    addrs = [Address(family=4, address=address, prefixlen=32), Address(family=4, address="192.168.1.2", prefixlen=24)]
    tap = Interface(name="tapmeta1", index=2, kind="veth", state="up", admin_up=True, mtu=1442, addresses=addrs)
    lo = Interface(name="lo", index=1, kind="loopback", state="unknown", admin_up=True, mtu=65536)
    return [lo, tap]


def listening(
    pidfile_pid: int | None = HAPROXY_PID, port: int = 80, command: str = "haproxy", address: str = "169.254.169.254"
) -> NetnsListeners:
    p = ListenerProcess(pid=HAPROXY_PID, command=command, pidfile="/x/net.pid.haproxy", pidfile_pid=pidfile_pid)
    listeners = [Listener(address="169.254.169.254", port=port, processes=[p])]
    return NetnsListeners(netns=NS, interfaces=interfaces(address), listeners=listeners)


def facts(alive: bool = True, agent_host: str = "compute-1"):
    f = healthy(router=None, router_port=None, to=None)
    meta = NeutronAgent(f"id-{agent_host}-meta", AGENT_TYPE, "neutron-ovn-metadata-agent", agent_host, alive, True, {})
    f.agents = [*f.agents, meta]
    return f


def rows(db=None, f=None, shown=None, meta=None):
    ev = Evidence()
    ev[OVN_DB] = db if db is not None else db_with()
    ev[OVS] = {"compute-1": shown if shown is not None else ovs()}
    ev[META_NS] = meta if meta is not None else MetaNs(NS, listening())
    return CHAIN.judge(f if f is not None else facts(), ev)


def metadata_row(got):
    return next(r for r in got if r.check == "OVN metadata path")


def test_healthy_metadata_path_passes():
    got = rows()
    row = metadata_row(got)
    assert row.verdict.value == "ok", row
    assert "haproxy 4242" in row.evidence and "169.254.169.254" in row.evidence
    assert diagnose(got).root_cause is None


def test_no_metadata_agent_in_the_cloud_means_not_deployed():
    got = rows(f=healthy(router=None, router_port=None, to=None), db=db_with(meta=False))
    assert all(r.check != "OVN metadata path" for r in got)


def test_each_broken_link_is_the_root_cause():
    cases = {
        "no metadata port for the network": {"db": db_with(meta=False)},
        "metadata agent missing": {"f": facts(agent_host="compute-2")},
        "metadata agent down": {"f": facts(alive=False)},
        "no metadata proxy on the path": {
            "meta": MetaNs(NS, NetnsListeners(netns=NS, exists=False, verdict=Verdict.FAIL))
        },
        "metadata port not plugged": {"shown": ovs(plugged=False)},
    }
    for cause, kw in cases.items():
        root = diagnose(rows(**kw)).root_cause
        assert root is not None and root.cause == cause and root.catalogue == 9, (cause, root)


def test_the_agent_lagging_behind_the_sb_is_down_only_after_the_grace():
    late = diagnose(rows(db=db_with(acked=3, nb_cfg=5, bumped_ms_ago=1000))).root_cause
    assert late is not None and late.cause == "metadata agent down" and SB_CFG_KEY in late.evidence
    fresh = metadata_row(rows(db=db_with(acked=4, nb_cfg=5, bumped_ms_ago=1000)))
    assert fresh.verdict.value == "ok"  # one bump behind, a second ago: its random delay
    old = diagnose(rows(db=db_with(acked=4, nb_cfg=5, bumped_ms_ago=60_000))).root_cause
    assert old is not None and old.cause == "metadata agent down"


def test_namespace_without_the_address_or_the_proxy_is_named():
    no_ip = diagnose(rows(meta=MetaNs(NS, listening(address="10.9.9.9")))).root_cause
    assert no_ip is not None and no_ip.cause == "no metadata proxy on the path" and "has no 169.254" in no_ip.evidence
    for broken in (
        listening(pidfile_pid=None),
        listening(port=8080),
        listening(command="nc"),
        NetnsListeners(netns=NS, interfaces=interfaces()),
    ):
        root = diagnose(rows(meta=MetaNs(NS, broken))).root_cause
        assert root is not None and root.cause == "no metadata proxy on the path", broken
        assert "haproxy listening on 169.254.169.254:80" in root.evidence


def test_the_tap_on_another_bridge_is_not_plugged():
    root = diagnose(rows(shown=ovs(bridge="br-ex"))).root_cause
    assert root is not None and root.cause == "metadata port not plugged" and "on br-ex" in root.evidence


def test_unreadable_evidence_is_an_error_not_ok():
    for kw in ({"meta": Unprobed("agent compute-1 unreachable")}, {"shown": Unprobed("no OVS")}):
        row = metadata_row(rows(**kw))
        assert row.verdict.value == "error" and "could not probe" in row.evidence, kw
    bad = NetnsListeners(netns=NS, verdict=Verdict.ERROR, detail="cannot read: EPERM")
    row = metadata_row(rows(meta=MetaNs(NS, bad)))
    assert row.verdict.value == "error" and "EPERM" in row.evidence


def ovn_agent(host: str, kind: str, alive: bool = True) -> NeutronAgent:
    return NeutronAgent(f"id-{host}-{kind}", kind, "", host, alive, True, {}, "2026-01-01 00:00:00")


def test_check_all_step_names_dead_and_missing_metadata_agents():
    from steth.controller.checks.ovn_metadata_agents import findings

    base = [ovn_agent("network", "OVN Controller Gateway agent"), ovn_agent("compute-1", "OVN Controller agent")]
    base.append(ovn_agent("compute-2", "OVN Controller agent"))
    ok = [*base, ovn_agent("compute-1", AGENT_TYPE), ovn_agent("compute-2", AGENT_TYPE)]
    assert findings(ok) == (Verdict.OK, [f"{AGENT_TYPE} alive on compute-1, compute-2"])
    verdict, lines = findings(
        [*base, ovn_agent("compute-1", AGENT_TYPE, alive=False), ovn_agent("compute-2", AGENT_TYPE)]
    )
    assert verdict == Verdict.FAIL and lines[0].startswith(f"compute-1: {AGENT_TYPE} dead")
    verdict, lines = findings([*base, ovn_agent("compute-1", AGENT_TYPE)])
    assert verdict == Verdict.WARN and lines == [f"compute-2: OVN chassis hosting VMs without an {AGENT_TYPE}"]
    assert findings(base)[0] == Verdict.SKIPPED  # no metadata agent anywhere: not deployed
    assert findings([ovn_agent("compute-1", "Open vSwitch agent")])[0] == Verdict.SKIPPED
