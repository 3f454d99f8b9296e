"""doctor's registry: a check defined once, chains per backend, and the mistakes that must fail at import."""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap

import pytest

from steth.controller.checks.dhcp import Analysis, HopResult
from steth.controller.decode import Summary
from steth.controller.doctor import chains
from steth.controller.doctor.backend import Backend
from steth.controller.doctor.evidence import (
    KINDS,
    Collector,
    Evidence,
    Gatherer,
    Kind,
    KindRegistry,
    UndeclaredEvidence,
    nothing,
)
from steth.controller.doctor.facts import Facts
from steth.controller.doctor.model import CheckResult, RegistryError
from steth.controller.doctor.ovs_evidence import DHCP, OVS, TUNNEL_PING
from steth.controller.doctor.registry import REGISTRY, Check, Registry
from steth.openstack.adapter import SubnetInfo
from steth.wire.models import IptablesResponse, OvsFlowsResponse
from steth.wire.verdict import Verdict

from .test_doctor_control import OVS_CHAIN, healthy
from .test_doctor_data import evidence, pong, show
from .test_doctor_vmprobe import healthy_probe, network_show


async def _never(g: object) -> None:
    raise AssertionError("not collected in these tests")


A: Kind[str | None] = Kind("a", _never, nothing)  # type: ignore[arg-type]
B: Kind[str | None] = Kind("b", _never, nothing)  # type: ignore[arg-type]


def make(
    key: str, name: str | None = None, needs: tuple = (), applies: bool = True, reads: tuple | None = None
) -> type[Check]:
    """A check that reads ``reads`` (by default what it needs) and says what it found."""
    reads = needs if reads is None else reads

    class One(Check):
        plane = "data"

        def applies(self, f: Facts) -> bool:
            return applies

        def judge(self, f: Facts, ev: Evidence) -> CheckResult:
            return self.ok(f"{key} read {[ev[k] for k in reads]}")

    One.key, One.name, One.needs = key, name or key, needs
    return One


def test_a_chain_lists_registered_checks_in_its_order():
    reg = Registry()
    for key in ("first", "second", "third"):
        reg.check(make(key))
    chain = reg.chain(Backend.OVN, ["third", "first"])
    assert chain.keys == ["third", "first"] and reg.chain_for(Backend.OVN) is chain
    assert [r.check for r in chain.judge(healthy(), Evidence())] == ["third", "first"]
    assert reg.chain_for(Backend.LINUXBRIDGE) is None


def test_unknown_check_in_a_chain_and_a_check_registered_twice_are_refused():
    reg = Registry()
    reg.check(make("port-admin-state"))
    with pytest.raises(RegistryError, match="unknown doctor checks: port-admin-stat"):
        reg.chain(Backend.OVN, ["port-admin-state", "port-admin-stat"])
    assert reg.chain_for(Backend.OVN) is None  # nothing half-registered
    with pytest.raises(RegistryError, match="'port-admin-state' registered twice"):
        reg.check(make("port-admin-state"))
    with pytest.raises(RegistryError, match="lists the check port-admin-state twice"):
        reg.chain(Backend.OVN, ["port-admin-state", "port-admin-state"])
    reg.check(make("other", name="port-admin-state"))
    with pytest.raises(RegistryError, match="row name port-admin-state twice"):
        reg.chain(Backend.OVN, ["port-admin-state", "other"])
    reg.chain(Backend.OVN, ["port-admin-state"])
    with pytest.raises(RegistryError, match="two doctor chains for the ovn backend"):
        reg.chain(Backend.OVN, ["other"])


def test_a_check_without_its_parts_is_refused():
    class NoJudge(Check):
        key, name, plane = "no-judge", "no judge", "data"

    class NoKey(Check):
        name, plane = "no key", "data"

        def judge(self, f: Facts, ev: Evidence) -> CheckResult:
            return self.ok("")

    reg = Registry()
    with pytest.raises(RegistryError, match="has no judge"):
        reg.check(NoJudge)
    with pytest.raises(RegistryError, match="has no key"):
        reg.check(NoKey)


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    """A directory on sys.path for chain modules written by a test; they are unloaded afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("doctor_test_")]:
        del sys.modules[name]


def test_a_chain_module_naming_an_unknown_check_fails_at_import(module_dir, monkeypatch):
    chains.load()  # Linux bridge has its chain: take it away, so only the typo can fail the import
    monkeypatch.setattr(REGISTRY, "chains", {b: c for b, c in REGISTRY.chains.items() if b != Backend.LINUXBRIDGE})
    (module_dir / "doctor_test_typo.py").write_text(
        textwrap.dedent(
            """
            from steth.controller.doctor.backend import Backend
            from steth.controller.doctor.registry import REGISTRY

            CHAIN = REGISTRY.chain(Backend.LINUXBRIDGE, ["port-admin-state", "securty-groups"])
            """
        )
    )
    with pytest.raises(RegistryError, match="securty-groups"):
        importlib.import_module("doctor_test_typo")
    assert REGISTRY.chain_for(Backend.LINUXBRIDGE) is None


def test_a_check_module_reusing_a_key_fails_at_import(module_dir):
    (module_dir / "doctor_test_twice.py").write_text(
        textwrap.dedent(
            """
            from steth.controller.doctor.registry import Check, check

            @check
            class MyBinding(Check):
                key = "port-binding"
                name = "my port binding"
                plane = "control"

                def judge(self, f, ev):
                    return self.ok("")
            """
        )
    )
    before = REGISTRY.checks["port-binding"]
    with pytest.raises(RegistryError, match="'port-binding' registered twice: .*neutron_port.PortBinding"):
        importlib.import_module("doctor_test_twice")
    assert REGISTRY.checks["port-binding"] is before


def test_the_ovs_chain_is_registered_and_other_backends_are_not_yet():
    assert chains.chain_for(Backend.OVS) is OVS_CHAIN
    assert Backend.OVS in chains.available()
    # every check of the chain is registered under its key, and the chain keeps the path's order
    assert all(REGISTRY.checks[k] is c for k, c in zip(OVS_CHAIN.keys, OVS_CHAIN.checks))
    keys = OVS_CHAIN.keys
    assert keys[:3] == ["floating-ip-associated", "port-admin-state", "port-binding"]
    assert keys.index("l2-agent-alive") < keys.index("vm-port-on-br-int") < keys.index("port-status")
    assert keys.index("floating-ips") < keys.index("underlay-path") < keys.index("mtu") < keys.index("dhcp-exchange")
    assert keys[-2:] == ["dns-servers-reachable", "vm-own-packet"]  # the proof of the path comes last


def test_needs_are_the_union_for_the_checks_that_apply_each_kind_once():
    reg = Registry()
    reg.check(make("one", needs=(A,)))
    reg.check(make("two", needs=(A, B)))
    reg.check(make("off", needs=(OVS,), applies=False))
    chain = reg.chain(Backend.OVS_DVR, ["one", "two", "off"])
    assert [k.key for k in chain.needs(healthy())] == ["a", "b"]


def test_the_ovs_chain_needs_follow_the_network():
    vxlan = {k.key for k in OVS_CHAIN.needs(healthy())}
    assert {"ovs", "tunnel_ping", "mtu_ping", "flood_flows", "dhcp", "nat", "to"} <= vxlan
    assert "vlan" not in vxlan and "interfaces" in vxlan  # interfaces: the MTU check's, collected only on VLAN/flat
    no_router = {k.key for k in OVS_CHAIN.needs(healthy(router=None, router_port=None, l3_agents=[]))}
    assert not {"nat", "from_router", "router_gateway", "to", "dns"} & no_router


def test_a_check_reads_only_the_evidence_it_declares():
    reg = Registry()
    reg.check(make("sneaky", needs=(), reads=(A,)))
    ev = Evidence()
    ev[A] = "x"
    with pytest.raises(UndeclaredEvidence, match="'a'"):
        reg.checks["sneaky"].evaluate(healthy(), ev)
    reg.check(make("honest", needs=(A,)))
    assert reg.checks["honest"].evaluate(healthy(), ev)[0].evidence == "honest read ['x']"


def full_evidence() -> Evidence:
    """Every kind the ovs chain reads, as a healthy path answers."""
    hops = [
        HopResult("compute-1", "compute-uplink", "eth1", True, True, [], None),
        HopResult("network", "network-uplink", "eth1", True, True, [], None),
    ]
    snat = "-A neutron-l3-agent-snat -o qg-1 -j SNAT --to-source 198.51.100.20 --random-fully"
    return evidence(
        ovs={"compute-1": show(), "network": network_show(healthy())},
        flood_flows=OvsFlowsResponse(bridge="br-tun", table=22, flows=["table=22,dl_vlan=1 actions=output:2"]),
        dhcp=Analysis(Verdict.OK, "DISCOVER and OFFER seen at every hop", hops, []),
        vm_frames=[Summary(src="192.168.1.10", dst="192.168.1.1", proto="IPv4")],
        from_dhcp={"network": pong("192.168.1.10")},
        nat=IptablesResponse(netns="qrouter-router-id", table="nat", rules=[snat]),
        from_router=pong("192.168.1.10"),
        router_gateway=pong("198.51.100.1"),
        to=pong("203.0.113.10"),
        dns=pong("203.0.113.53"),
        vm_probe=healthy_probe(),
    )


def test_every_ovs_check_reads_only_what_it_declares_on_full_evidence():
    """The whole chain over evidence holding every kind it uses: no undeclared read, and all links good."""
    f = healthy()
    f.external_subnet = SubnetInfo("ext-s", "ext", "198.51.100.0/24", 4, "198.51.100.1", False)
    rows = OVS_CHAIN.judge(f, full_evidence())
    names = [r.check for r in rows]
    assert names[:2] == ["port admin state", "port binding"] and names[-1] == "VM's own packet"
    assert "vxlan tunnel path" in names and "underlay path" not in names and "VLAN trunk" not in names
    assert [r for r in rows if r.verdict != Verdict.OK] == []
    assert len(names) == len(OVS_CHAIN.checks) - 3  # one row each, but: FIP asked, underlay path, VLAN trunk


def test_tunnel_path_row_is_named_by_the_network_type_and_reads_the_dhcp_trace():
    rows = REGISTRY.checks["tunnel-path"].evaluate(healthy(), evidence())
    assert [r.check for r in rows] == ["vxlan tunnel path"]
    assert set(REGISTRY.checks["tunnel-path"].needs) == {TUNNEL_PING, DHCP}


def test_an_evidence_kind_defined_twice_is_refused():
    kinds = KindRegistry()
    kinds.add(A)
    with pytest.raises(RegistryError, match="evidence kind 'a' is defined twice"):
        kinds.add(Kind("a", _never, nothing))
    with pytest.raises(RegistryError, match="'ovs' is defined twice"):
        KINDS.add(Kind("ovs", _never, dict))
    assert KINDS.get("ovs") is OVS


def test_a_chain_may_collect_a_shared_kind_its_own_way():
    """OVN finds tunnel endpoints in its chassis, not in agents: the same kind, another collector."""

    async def default(g: Gatherer) -> str:
        return "from agents"

    async def own(g: Gatherer) -> str:
        return "from the chassis"

    kind: Kind[str] = Kind("test-endpoints", default, str)

    async def run(collectors) -> Evidence:
        return await Gatherer(object(), None, healthy(), collectors).gather([kind])  # type: ignore[arg-type]

    assert asyncio.run(run(()))[kind] == "from agents"
    assert asyncio.run(run([Collector(kind, own)]))[kind] == "from the chassis"
    reg = Registry()
    reg.check(make("uses-it", needs=(kind,)))
    chain = reg.chain(Backend.OVN, ["uses-it"], collectors=[Collector(kind, own)])
    assert chain.collectors[0].collect is own
