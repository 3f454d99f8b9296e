"""Probes from inside a named namespace: ping, NAT rules (iptables-save) and TCP connect."""

from __future__ import annotations

import socket

import pytest

from steth.host import netns

from .conftest import ip, remove_netns, run, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root


def test_ping_from_inside_a_named_namespace(agent, net):
    # an address on the peer namespace's loopback: only reachable from inside that namespace
    only_there = f"10.77.{net.octet}.1"
    ip("addr", "add", f"{only_there}/32", "dev", "lo", ns=net.peer_ns)
    try:
        req = {"targets": [only_there], "count": 2, "interval": 0.05, "timeout": 0.5}
        inside = agent.post("/v1/ping", {**req, "netns": net.peer_ns})
        assert inside.status == 200, inside.body
        assert inside.body["results"][0]["received"] == 2
        outside = agent.post("/v1/ping", req)
        assert outside.body["results"][0]["received"] == 0
    finally:
        ip("addr", "del", f"{only_there}/32", "dev", "lo", ns=net.peer_ns)


def test_ping_in_a_missing_namespace_is_refused_by_name(agent, net):
    r = agent.post("/v1/ping", {"targets": [net.agent_ip], "count": 1, "netns": f"{net.ns}-none"})
    assert r.status == 404  # a missing namespace, like a missing interface, is 404 on every route
    assert f"{net.ns}-none" in str(r.body)


def test_iptables_save_reads_the_nat_rules_of_a_namespace(agent, net):
    extra = f"{net.ns}-nat"
    try:
        ip("netns", "add", extra)
        run(
            [
                "ip",
                "netns",
                "exec",
                extra,
                "iptables",
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-s",
                "10.9.9.0/24",
                "-j",
                "SNAT",
                "--to-source",
                "10.8.8.8",
            ]
        )
        r = agent.get(f"/v1/netns/{extra}/iptables?table=nat")
        assert r.status == 200, r.body
        assert r.body["verdict"] == "ok"
        assert "-A POSTROUTING -s 10.9.9.0/24 -j SNAT --to-source 10.8.8.8" in r.body["rules"]
        assert r.body["netns"] == extra
    finally:
        remove_netns(extra)
    gone = agent.get(f"/v1/netns/{extra}/iptables?table=nat")
    assert gone.body["verdict"] == "fail" and "does not exist" in gone.body["detail"]


def test_iptables_rejects_unknown_tables_and_bad_names(agent):
    assert agent.get("/v1/netns/x/iptables?table=bogus").status == 422
    assert agent.get("/v1/netns/a%20b/iptables").status == 422


def test_tcp_connect_from_a_namespace(agent, net):
    listener = netns.call_in(net.peer_ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        listener.bind((net.peer_ip, 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        ok = agent.post("/v1/tcp-connect", {"address": net.peer_ip, "port": port})
        assert ok.status == 200, ok.body
        assert ok.body["connected"] is True and ok.body["verdict"] == "ok"
        # from inside the peer namespace itself too
        inside = agent.post("/v1/tcp-connect", {"address": net.peer_ip, "port": port, "netns": net.peer_ns})
        assert inside.body["connected"] is True
    finally:
        listener.close()
    refused = agent.post("/v1/tcp-connect", {"address": net.peer_ip, "port": port, "timeout": 1})
    assert refused.body["connected"] is False
    assert "refused" in refused.body["error"].lower()
