"""Probes from inside a named namespace: ping, NAT rules (iptables-save) and TCP connect."""

from __future__ import annotations

import socket

import pytest

from steth.host import netns

from .conftest import ip, ip_json, remove_netns, run, skip_unless_root

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


def test_router_state_reads_forwarding_routes_and_links_of_a_namespace(agent, net):
    r = agent.get(f"/v1/netns/{net.peer_ns}/router-state")
    assert r.status == 200, r.body
    assert r.body["ip_forward"] is False  # the fixture's peer does not forward
    assert any(x.startswith("10.252.") and x.endswith("dev eth0") for x in r.body["routes"]), r.body
    assert r.body["links"]["eth0"] is True
    gone = agent.get(f"/v1/netns/{net.peer_ns}-none/router-state")
    assert gone.status == 200 and gone.body["exists"] is False and gone.body["verdict"] == "fail"


def test_the_vm_probe_is_injected_as_the_vm_and_recognised_on_the_wire(agent, net):
    """A raw-injected ICMP echo "from the VM" arrives at the peer, where the controller's decoder finds it
    by its token; the peer answers it (its checksums are right)."""
    import time

    from steth.controller.doctor.vm_path import ProbeId, classify
    from steth.host.dhcp_frames import packet_socket

    peer_mac = ip_json("link", "show", "eth0", ns=net.peer_ns)[0]["address"]
    token = "00112233aabbccdd"
    sock = packet_socket("eth0", net.peer_ns)
    try:
        req = {
            "mac": "fa:16:3e:12:34:56",
            "src_ip": net.agent_peer_ip,
            "gateway_mac": peer_mac,
            "dst_ip": net.peer_ip,
            "ident": 4711,
            "token": token,
            "count": 2,
            "interface": net.peer_if,
        }
        r = agent.post("/v1/inject/vm", req)
        assert r.status == 200, r.body
        assert r.body["injected"] == 2 and r.body["verdict"] == "ok"
        seen: list[str] = []
        end = time.monotonic() + 2
        while time.monotonic() < end and seen.count("reply") < 2:
            try:
                data = sock.recv(65535)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            got = classify(data, ProbeId("icmp", token))
            if got:
                seen.append(got[0])
        assert seen.count("request") == 2 and seen.count("reply") == 2, seen
    finally:
        sock.close()
    bad = agent.post("/v1/inject/vm", {**req, "interface": None})
    assert bad.status == 422
