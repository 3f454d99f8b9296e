"""doctor's evidence: each kind collected once and all at once, what becomes "could not probe" and what
is a bug; the backend read from Neutron's agents; a backend without a chain is a clear exit 2."""

from __future__ import annotations

import asyncio

import pytest

from steth.controller import api
from steth.controller.commands.doctor import _chain
from steth.controller.config import ControllerConfig, NodeConfig
from steth.controller.doctor.backend import Backend, detect
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Gatherer, Kind, Unprobed, guarded, nothing
from steth.controller.doctor.ns_evidence import DNS, FROM_DHCP, FROM_ROUTER, NAT, ROUTER_GATEWAY, TO
from steth.controller.doctor.ovs_evidence import DHCP, FLOOD_FLOWS, MTU_PING, OVS, TUNNEL_PING, VM_FRAMES
from steth.errors import AgentUnreachableError, UsageError
from steth.wire.models import IptablesResponse, OvsFlowsResponse, PingResponse, PingResult, Verdict

from .test_doctor_control import OVS_CHAIN, agent, healthy
from .test_doctor_data import show

CONFIG = ControllerConfig(
    nodes={n: NodeConfig(n, "192.0.2.1", 9698) for n in ("compute-1", "network")}, networks={}, token_file="/x"
)


class FakeAgents:
    """The agents' API as doctor calls it, recording every call; ``fail`` maps a call to what it raises."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: dict[tuple[str, str], BaseException] | None = None):
        self.calls: list[tuple[str, str, object]] = []
        self.fail = fail or {}
        self.cancelled: list[str] = []
        for name in ("ovs_show", "ping", "ovs_flows", "iptables", "interfaces", "tcp_connect"):
            monkeypatch.setattr(api, name, self._fake(name))

    def _fake(self, name: str):
        async def call(client, node, *args):
            self.calls.append((name, node.name, args))
            exc = self.fail.get((name, node.name))
            if isinstance(exc, asyncio.CancelledError):  # stands for a slow probe: wait to be cancelled
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    self.cancelled.append(f"{name} {node.name}")
                    raise
            elif exc is not None:
                raise exc
            await asyncio.sleep(0)
            return getattr(self, name)(node.name, *args)

        return call

    def ovs_show(self, host, *args):
        return show(iface_id="another-port")  # the VM's port is not on br-int: no DHCP trace, no capture

    def ping(self, host, req):
        return PingResponse(
            results=[
                PingResult(target=t, sent=3, received=3, loss_pct=0, verdict=Verdict.OK) for t in map(str, req.targets)
            ]
        )

    def ovs_flows(self, host, bridge, table):
        return OvsFlowsResponse(bridge=bridge, table=table, flows=["table=22,dl_vlan=1 actions=output:2"])

    def iptables(self, host, netns, table):
        return IptablesResponse(netns=netns, table=table, rules=[])

    def of(self, name: str) -> list[tuple[str, object]]:
        return [(host, args) for n, host, args in self.calls if n == name]


def collect(f, config=CONFIG):
    return asyncio.run(OVS_CHAIN.collect(object(), config, f))  # the fake API never uses the client


def test_each_kind_is_collected_once_and_the_plan_follows_the_facts(monkeypatch):
    agents = FakeAgents(monkeypatch)
    f = healthy()
    ev = collect(f)
    # Open vSwitch is read by the br-int, flood flow and MTU checks and by the DHCP/capture plans: once per host
    assert sorted(h for h, _ in agents.of("ovs_show")) == ["compute-1", "network"]
    # the router's NAT table gates every probe from inside it: read once
    assert [(h, args[0]) for h, args in agents.of("iptables")] == [("network", "qrouter-router-id")]
    assert [h for h, _ in agents.of("ovs_flows")] == ["compute-1"]
    assert agents.of("interfaces") == []  # only a VLAN or flat path reads the NICs' MTU
    pings = {
        (h, req.netns, tuple(map(str, req.targets)), req.size, req.dont_fragment) for h, (req,) in agents.of("ping")
    }
    tunnel_src = f.agents[0].tunnel_ip
    assert pings == {
        ("compute-1", None, ("10.0.99.7",), 56, False),  # tunnel endpoints
        ("compute-1", None, ("10.0.99.7",), 1450 + 50 - 28, True),  # a full VXLAN packet with DF
        ("network", f"qdhcp-{f.network.id}", ("192.168.1.10",), 56, False),
        ("network", "qrouter-router-id", ("192.168.1.10",), 56, False),
        ("network", "qrouter-router-id", ("203.0.113.10",), 56, False),  # --to
        ("network", "qrouter-router-id", ("203.0.113.53",), 56, False),  # DNS server
    }
    assert all(req.source == tunnel_src for h, (req,) in agents.of("ping") if req.netns is None)
    assert set(ev[OVS]) == {"compute-1", "network"} and isinstance(ev[NAT], IptablesResponse)
    assert isinstance(ev[TUNNEL_PING]["network"], PingResponse) and isinstance(ev[MTU_PING]["network"], PingResponse)
    assert isinstance(ev[FLOOD_FLOWS], OvsFlowsResponse) and isinstance(ev[FROM_ROUTER], PingResponse)
    assert isinstance(ev[FROM_DHCP]["network"], PingResponse) and isinstance(ev[TO], PingResponse)
    assert isinstance(ev[DNS], PingResponse)
    assert ev[DHCP] is None and ev[VM_FRAMES] is None  # not on br-int: nothing to trace or capture
    assert ev[ROUTER_GATEWAY] is None  # no external subnet known
    d = diagnose(OVS_CHAIN.judge(f, ev))
    assert d.root_cause.check == "VM port on br-int" and d.root_cause.cause == "VM interface not plugged into br-int"


def test_no_router_no_probes_from_it(monkeypatch):
    agents = FakeAgents(monkeypatch)
    ev = collect(healthy(router=None, router_port=None, l3_agents=[], to=None))
    assert agents.of("iptables") == [] and ev[NAT] is None and ev[TO] is None
    assert {req.netns for _, (req,) in agents.of("ping")} == {None, f"qdhcp-{healthy().network.id}"}


def test_steth_and_os_errors_become_could_not_probe(monkeypatch):
    agents = FakeAgents(
        monkeypatch,
        fail={
            ("ovs_show", "network"): AgentUnreachableError("agent network at https://192.0.2.1:9698 is unreachable"),
            ("ovs_flows", "compute-1"): ConnectionResetError(104, "Connection reset by peer"),
        },
    )
    f = healthy()
    f.dhcp_ports[0].binding_host = "ghost"  # a DHCP host without a steth agent
    ev = collect(f)
    assert ev[OVS]["network"] == Unprobed("agent network at https://192.0.2.1:9698 is unreachable")
    assert ev[FLOOD_FLOWS] == Unprobed("ConnectionResetError: [Errno 104] Connection reset by peer")
    assert ev[FROM_DHCP]["ghost"] == Unprobed("unknown agent 'ghost'")
    assert "ghost" not in {h for _, h, _ in agents.calls}
    rows = {r.check: r for r in OVS_CHAIN.judge(f, ev)}
    assert rows["tunnel flood flows"].verdict == Verdict.ERROR
    assert (
        rows["tunnel flood flows"].evidence
        == "could not probe: ConnectionResetError: [Errno 104] Connection reset by peer"
    )


def test_any_other_exception_is_a_bug_that_propagates_and_stops_the_other_probes(monkeypatch):
    agents = FakeAgents(
        monkeypatch,
        fail={("iptables", "network"): KeyError("a bug"), ("ovs_flows", "compute-1"): asyncio.CancelledError()},
    )
    with pytest.raises(KeyError, match="a bug"):
        collect(healthy())
    assert agents.cancelled == ["ovs_flows compute-1"]


def test_guarded_and_a_kind_awaited_by_several_is_collected_once():
    runs: list[str] = []

    async def base(g: Gatherer) -> str:
        runs.append("base")
        await asyncio.sleep(0)
        return "B"

    base_kind: Kind[str] = Kind("test-base", base, str)

    async def upper(g: Gatherer) -> str | None:
        return (await g.get(base_kind)) + (await g.get(base_kind)).lower()

    upper_kind: Kind[str | None] = Kind("test-upper", upper, nothing)

    async def main():
        g = Gatherer(object(), CONFIG, healthy())  # type: ignore[arg-type]
        return await g.gather([upper_kind, base_kind, upper_kind])

    ev = asyncio.run(main())
    assert runs == ["base"] and ev[upper_kind] == "Bb" and ev[base_kind] == "B"

    async def raises(exc: BaseException) -> None:
        raise exc

    assert asyncio.run(guarded(raises(UsageError("no such VLAN", "hint")))) == Unprobed("no such VLAN")
    assert asyncio.run(guarded(raises(TimeoutError("late")))) == Unprobed("TimeoutError: late")
    with pytest.raises(ValueError):
        asyncio.run(guarded(raises(ValueError("a bug"))))


def l3(host: str, mode: str) -> object:
    a = agent(host, "neutron-l3-agent")
    a.configuration["agent_mode"] = mode
    return a


def ovn(host: str, gateway: bool = False):
    a = agent(host)
    a.agent_type = "OVN Controller Gateway agent" if gateway else "OVN Controller agent"
    a.binary = "ovn-controller"
    return a


def linuxbridge(host: str):
    a = agent(host)
    a.agent_type, a.binary = "Linux bridge agent", "neutron-linuxbridge-agent"
    return a


def test_backend_detected_from_neutrons_agents():
    ovs = [agent("compute-1"), agent("network"), l3("network", "legacy")]
    assert detect(ovs)[0] == Backend.OVS
    assert detect([])[0] == Backend.OVS
    assert detect([agent("compute-1"), ovn("network", gateway=True)]) == (
        Backend.OVN,
        "OVN Controller agents on network",
    )
    assert detect([ovn("compute-1"), ovn("compute-2")])[0] == Backend.OVN
    assert detect([linuxbridge("compute-1"), l3("network", "legacy")])[0] == Backend.LINUXBRIDGE
    for mode in ("dvr", "dvr_snat"):
        backend, how = detect([*ovs, l3("compute-1", mode)])
        assert backend == Backend.OVS_DVR and f"compute-1 ({mode})" in how
    # OVN first: a cloud being migrated still runs its old agents
    assert detect([linuxbridge("a"), l3("b", "dvr"), ovn("c")])[0] == Backend.OVN


def test_a_backend_without_a_chain_is_named_with_exit_2(monkeypatch):
    from steth.controller.doctor import chains
    from steth.controller.doctor.registry import REGISTRY

    assert _chain(Backend.OVS, "was detected") is OVS_CHAIN
    chains.load()  # every backend may have its chain: take Linux bridge's away for this test
    monkeypatch.setattr(REGISTRY, "chains", {b: c for b, c in REGISTRY.chains.items() if b != Backend.LINUXBRIDGE})
    with pytest.raises(UsageError) as caught:
        _chain(Backend.LINUXBRIDGE, "was detected (Linux bridge agents on network)")
    err = caught.value
    assert err.exit_code == 2
    assert "the linuxbridge backend was detected (Linux bridge agents on network)" in err.message
    assert "chain of checks for linuxbridge is not available yet" in err.message
    assert "ovs" in err.hint
