"""The agent's watch metrics: names, labels, and the series count the README's formula states."""

from __future__ import annotations

from steth.agent.watch import probes_of
from steth.agent.watch_metrics import WatchMetrics
from steth.wire.watch import WatchPlan


def plan(k: int, networks: int, vlans: bool = False) -> WatchPlan:
    nets = []
    for n in range(networks):
        net = {
            "name": f"net{n}",
            "mtu": 1500,
            "peers": [{"name": f"p{i}", "address": f"10.{n}.0.{i + 1}"} for i in range(k)],
        }
        if vlans:
            net.update(vlans=[100, 101], interface="eth1", probers=[f"p{i}" for i in range(k)])
        nets.append(net)
    return WatchPlan.model_validate({"source": "me", "networks": nets})


def watch_series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("steth_watch_")]


def test_fifteen_series_per_pair_after_a_round():
    p = plan(10, 3)
    m = WatchMetrics()
    m.start(p)
    for probe in probes_of(p):
        m.record("me", probe, 0.0004 if probe.peer != "p3" else None)
    m.round_done("me", 1_700_000_000.0, 6.0)
    lines = watch_series(m.exposition().decode())
    per_agent = 3 + 5  # mtu_probe_bytes per network; last round, interval, pps, rounds, active
    assert len(lines) == 15 * 10 * 3 + per_agent
    assert 'steth_watch_probes_lost_total{destination="p3",network="net1",source="me"} 1.0' in lines
    assert 'steth_watch_peer_up{destination="p3",network="net1",source="me"} 0.0' in lines
    assert 'steth_watch_rtt_seconds_bucket{destination="p1",le="0.0005",network="net0",source="me"} 1.0' in lines
    assert 'steth_watch_mtu_ok{destination="p1",network="net2",source="me"} 1.0' in lines
    assert "steth_watch_active 1.0" in lines
    assert not any("_created" in line for line in lines)


def test_the_heartbeat_adds_one_series_per_prober():
    p = plan(4, 1, vlans=True)
    m = WatchMetrics()
    m.start(p)
    for prober in ("p0", "p1", "p2", "p3"):
        m.vlan(prober, "me", "net0", 1 if prober == "p2" else 0)
    lines = [x for x in watch_series(m.exposition().decode()) if x.startswith("steth_watch_vlan_missing")]
    assert len(lines) == 4
    assert 'steth_watch_vlan_missing{destination="me",network="net0",source="p2"} 1.0' in lines


def test_a_new_plan_drops_the_old_series_and_stop_clears_them():
    m = WatchMetrics()
    m.start(plan(3, 1))
    m.start(plan(2, 1))
    text = m.exposition().decode()
    assert 'destination="p2"' not in text and 'destination="p1"' in text
    m.clear()
    assert watch_series(m.exposition().decode()) == ["steth_watch_active 0.0"]
    assert "process_" in m.exposition().decode()
