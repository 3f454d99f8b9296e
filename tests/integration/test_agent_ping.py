"""POST /v1/ping: real ICMP from the agent's namespace to a peer namespace (and to nobody).

Every target is inside the test's own namespaces: the peer (10.252.X.2), unused
addresses of the peer link's /29, or 10.253.X.0/24, routed to the peer, which
drops it. No timing assertion anywhere (project rule): only counts and verdicts.
"""

from __future__ import annotations

import itertools
import os

import pytest

from .conftest import http, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

HAVE_IPV6 = os.path.exists("/proc/sys/net/ipv6")


def ping(agent, **body):
    r = agent.post("/v1/ping", body)
    assert r.status == 200, r.body
    return r.body["results"]


def assert_ok(result, target, count):
    assert result["target"] == target
    assert result["verdict"] == "ok", result
    assert result["sent"] == result["received"] == count
    assert result["loss_pct"] == 0
    assert result["error"] is None
    for key in ("rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "rtt_mdev_ms"):
        assert isinstance(result[key], float), key
    assert 0 < result["rtt_min_ms"] <= result["rtt_avg_ms"] <= result["rtt_max_ms"]
    assert result["rtt_mdev_ms"] >= 0


def assert_lost(result, target, count):
    assert result["target"] == target
    assert result["verdict"] == "fail", result
    assert result["sent"] == count and result["received"] == 0
    assert result["loss_pct"] == 100
    assert result["rtt_min_ms"] is None and result["rtt_avg_ms"] is None


def test_peer_answers(agent, net):
    [res] = ping(agent, targets=[net.peer_ip], count=3, interval=0.05)
    assert_ok(res, net.peer_ip, 3)


def test_unused_address_is_100_percent_loss(agent, net):
    [res] = ping(agent, targets=[net.unused_peer_ip], count=2, interval=0.05, timeout=0.5)
    assert_lost(res, net.unused_peer_ip, 2)


def test_routed_black_hole_is_100_percent_loss(agent, net):
    target = str(net.blackhole_net[7])
    [res] = ping(agent, targets=[target], count=2, interval=0.05, timeout=0.5)
    assert_lost(res, target, 2)


def test_many_targets_one_result_each_in_order(agent, net):
    targets = [net.peer_ip, net.unused_peer_ip, "127.0.0.1", str(net.blackhole_net[9])]
    if HAVE_IPV6:
        targets.append("::1")
    results = ping(agent, targets=targets, count=2, interval=0.05, timeout=0.5)
    assert [r["target"] for r in results] == targets
    assert_ok(results[0], net.peer_ip, 2)
    assert_lost(results[1], net.unused_peer_ip, 2)
    assert_ok(results[2], "127.0.0.1", 2)
    assert_lost(results[3], targets[3], 2)
    if HAVE_IPV6:
        assert_ok(results[4], "::1", 2)


def test_a_hundred_silent_targets_all_fail(agent, net):
    """Concurrency: the agent pings them all at once (wall time is not asserted, only results)."""
    targets = [str(net.blackhole_net[i]) for i in range(1, 101)]
    results = ping(agent, targets=targets, count=1, timeout=1)
    assert len(results) == 100
    assert [r["target"] for r in results] == targets
    for r in results:
        assert_lost(r, r["target"], 1)


def test_dont_fragment_larger_than_mtu_fails_and_fragmentation_works(agent, net):
    try:
        net.ip("link", "set", net.peer_if, "mtu", "1280", ns=net.ns)
        net.ip("link", "set", "eth0", "mtu", "1280", ns=net.peer_ns)
        [df] = ping(agent, targets=[net.peer_ip], count=2, interval=0.05, timeout=0.5, size=1400, dont_fragment=True)
        assert df["verdict"] == "fail" and df["received"] == 0 and df["loss_pct"] == 100
        assert df["error"], "a refused send must say why"
        # just under the MTU with DF: 1252 + 8 (ICMP) + 20 (IP) = 1280
        [fits] = ping(agent, targets=[net.peer_ip], count=2, interval=0.05, size=1252, dont_fragment=True)
        assert_ok(fits, net.peer_ip, 2)
        [frag] = ping(agent, targets=[net.peer_ip], count=2, interval=0.05, size=1400)
        assert_ok(frag, net.peer_ip, 2)
    finally:
        net.ip("link", "set", net.peer_if, "mtu", "1500", ns=net.ns)
        net.ip("link", "set", "eth0", "mtu", "1500", ns=net.peer_ns)


def test_interface_option_binds_the_socket(agent, net):
    [res] = ping(agent, targets=[net.peer_ip], count=2, interval=0.05, interface=net.peer_if)
    assert_ok(res, net.peer_ip, 2)
    # bound to the management link, the peer (only reachable through eth1) does not answer
    [res] = ping(agent, targets=[net.peer_ip], count=1, timeout=0.5, interface=net.agent_if)
    assert res["verdict"] == "fail" and res["received"] == 0


def test_source_option(agent, net):
    [res] = ping(agent, targets=[net.peer_ip], count=1, source=net.agent_peer_ip)
    assert_ok(res, net.peer_ip, 1)
    # an address this node does not have: a result with verdict error, not an exception
    [res] = ping(agent, targets=[net.peer_ip], count=1, source=str(net.blackhole_net[1]))
    assert res["verdict"] == "error" and res["sent"] == 0 and res["received"] == 0
    assert res["error"]


def test_nonexistent_interface_is_404_naming_interface(agent, net):
    """A missing interface is 404 on every route (ping, vlan, links, captures, /v1/interfaces/NAME)."""
    r = agent.post("/v1/ping", {"targets": [net.peer_ip], "count": 1, "interface": "nosuch0"})
    assert r.status == 404
    assert r.detail.startswith("interface")
    assert "nosuch0" in r.detail


BAD_TARGET_CASES = [
    (["nothost"], "targets.0"),
    (["PEER", "10.0.0.300"], "targets.1"),
    (["PEER", "PEER", ""], "targets.2"),
    (["PEER", "10.252.0.0/29"], "targets.1"),
]


@pytest.mark.parametrize("targets, field", BAD_TARGET_CASES)
def test_target_not_an_ip_is_422_naming_its_index(agent, net, targets, field):
    targets = [net.peer_ip if t == "PEER" else t for t in targets]
    r = agent.post("/v1/ping", {"targets": targets, "count": 1})
    assert r.status == 422, r.body
    assert f"{field}:" in r.detail
    assert "not an IPv4 or IPv6 address" in r.detail
    assert r.fields == [field]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"count": 0}, "count"),
        ({"count": 1000}, "count"),
        ({"count": -1}, "count"),
        ({"count": "three"}, "count"),
        ({"targets": []}, "targets"),
        ({"targets": None}, "targets"),
        ({"interval": 0}, "interval"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 61}, "timeout"),
        ({"size": 65001}, "size"),
        ({"size": -1}, "size"),
        ({"interface": "a" * 16}, "interface"),
        ({"source": "nothost"}, "source"),
        ({"count": 100, "interval": 1, "timeout": 1}, "request"),  # 200 s of probing: over the 120 s bound
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_request_is_422_naming_the_field(agent, net, change, field):
    body = {"targets": [net.peer_ip], "count": 1, **change}
    r = agent.post("/v1/ping", body)
    assert r.status == 422, r.body
    assert field in r.fields, r.body
    assert r.detail.startswith(f"{field}:") or f"; {field}:" in r.detail


def test_more_than_1024_targets_is_422(agent, net):
    # all inside the test's own black-hole /24 (repeated): never sent, since the request is refused
    hosts = itertools.cycle(str(a) for a in net.blackhole_net.hosts())
    targets = [next(hosts) for _ in range(1025)]
    r = agent.post("/v1/ping", {"targets": targets, "count": 1})
    assert r.status == 422
    assert r.detail.startswith("targets:") and "1024" in r.detail


@pytest.mark.parametrize("raw", [b"", b"{not json", b'["10.252.0.2"]'])
def test_body_not_a_json_object_is_422(agent, raw):
    r = http(
        "POST",
        agent.base_url + "/v1/ping",
        raw=raw,
        headers={"X-Steth-Token": agent.token, "Content-Type": "application/json"},
    )
    assert r.status == 422, (raw, r.status, r.body)
