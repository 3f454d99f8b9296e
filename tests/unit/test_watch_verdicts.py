"""`steth watch status` analysis: node problem vs pair problem, MTU black hole, stale watch; plan building."""

from __future__ import annotations

from steth.controller.checks.nodes import NodeView
from steth.controller.config import NodeConfig
from steth.controller.inventory import NodeAddress
from steth.controller.watch.plan import Settings, build
from steth.controller.watch.verdicts import findings, stale
from steth.wire.models import AgentInfo, Capabilities
from steth.wire.watch import PeerResult, WatchPlan, WatchStatus

PLAN = WatchPlan.model_validate({"source": "a", "interval": 10, "networks": [{"name": "mgmt", "peers": []}]})


def status(results: list[tuple[str, bool, bool | None]]) -> WatchStatus:
    rs = [PeerResult(network="mgmt", peer=p, address="10.0.0.9", up=up, mtu_ok=mtu) for p, up, mtu in results]
    return WatchStatus(active=True, plan=PLAN, results=rs)


def test_unreachable_from_most_probers_is_a_node_problem():
    statuses = {s: status([("d", False, None)]) for s in ("a", "b", "c")}
    statuses["e"] = status([("d", True, None)])
    [f] = findings(statuses)
    assert (f.kind, f.destination, f.probers, f.of) == ("node", "d", ("a", "b", "c"), 4)
    assert "problem of node d" in f.text()


def test_unreachable_from_one_prober_is_a_pair_problem():
    statuses = {"a": status([("d", False, None)]), "b": status([("d", True, None)]), "c": status([("d", True, None)])}
    [f] = findings(statuses)
    assert (f.kind, f.probers) == ("pair", ("a",))
    assert "only a cannot reach d" in f.text()


def test_small_passes_full_size_lost_is_an_mtu_black_hole():
    [f] = findings({"a": status([("d", True, False)]), "b": status([("d", True, True)])})
    assert (f.kind, f.probers) == ("mtu", ("a",))


def test_healthy_and_not_yet_probed_give_nothing():
    assert findings({"a": status([("d", True, True), ("e", None, None)])}) == []  # type: ignore[list-item]


def test_stale_after_three_intervals_and_a_phase():
    st = status([])
    st.started_at, st.last_round_at = 1000.0, 1000.0
    assert not stale(st, now=1000.0 + 39)
    assert stale(st, now=1000.0 + 41)
    st.active = False
    assert not stale(st, now=5000.0)


def view(name: str, nets: dict[str, str], alive: bool = True) -> NodeView:
    info = AgentInfo(
        hostname=name,
        version="0",
        interfaces=[],
        capabilities=Capabilities(openvswitch=False, vlan_8021q=False, iperf3=False, raw_sockets=True),
    )
    v = NodeView(NodeConfig(name, "10.0.0.1", 9698), info=info if alive else None)
    v.on = {net: NodeAddress(net, addr, "eth0") for net, addr in nets.items()}
    return v


def test_plans_cover_each_network_among_the_nodes_on_it():
    views = [view(f"n{i}", {"mgmt": f"10.0.0.{i}", **({"tenant": f"10.1.0.{i}"} if i < 4 else {})}) for i in range(8)]
    views.append(view("dead", {}, alive=False))
    plans = build(views, ["mgmt", "tenant"], Settings(peers=3), {"mgmt": 1500, "tenant": 9000})
    assert set(plans) == {f"n{i}" for i in range(8)}
    for i in range(8):
        nets = {n.name: n for n in plans[f"n{i}"].networks}
        assert len(nets["mgmt"].peers) == 3 and nets["mgmt"].mtu == 1500
        if i < 4:
            assert len(nets["tenant"].peers) == 3 and nets["tenant"].mtu == 9000
            assert all(p.address.startswith("10.1.0.") for p in nets["tenant"].peers)
        else:
            assert "tenant" not in nets
    incoming = {}
    for p in plans.values():
        for n in p.networks:
            for peer in n.peers:
                incoming.setdefault((n.name, peer.name), set()).add(p.source)
    assert all(len(s) == 3 for s in incoming.values())
