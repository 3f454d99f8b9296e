"""The VM's own packet: frames built by the agent's builders are found on every hop (plain, 802.1Q, VXLAN),
the verdict names where the request or the reply stops, the router's state explains a router that does
not forward, and no path is called healthy without the proof."""

from __future__ import annotations

import struct

import pytest

from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.model import CheckResult
from steth.controller.doctor.registry import REGISTRY
from steth.controller.doctor.vm_checks import forward_drops, route_to
from steth.controller.doctor.vm_path import PathHop, ProbeId, classify, judge, tally
from steth.controller.doctor.vm_probe import RouterForwarding, Target, VmProbe, bpf, target_of
from steth.host import probe_frames
from steth.host.inet import checksum
from steth.wire.models import IptablesResponse, OvsBridgeInfo, OvsInterfaceInfo, OvsPortInfo, OvsShowResponse
from steth.wire.verdict import Verdict
from steth.wire.vmprobe import MARKER, RouterState, VmProbeRequest

from .test_doctor_control import healthy
from .test_doctor_data import evidence, pong, show

TOKEN = "0123456789abcdef"
VM_MAC, GW_MAC = "fa:16:3e:00:00:01", "fa:16:3e:00:00:fe"


def echo(kind: int = 8, src: str = "192.168.1.10", dst: str = "203.0.113.10") -> bytes:
    frame = probe_frames.icmp_echo(VM_MAC, GW_MAC, src, dst, 4242, 1, MARKER + TOKEN.encode())
    if kind == 0:  # the reply: same payload, swapped addresses, type 0
        frame = probe_frames.icmp_echo(GW_MAC, VM_MAC, dst, src, 4242, 1, MARKER + TOKEN.encode())
        frame = frame[:34] + b"\x00" + frame[35:]
    return frame


def vxlan(inner: bytes, src: bytes = bytes([10, 0, 99, 5]), dst: bytes = bytes(4)) -> bytes:
    udp = struct.pack("!HHHH", 50000, 4789, 8 + 8 + len(inner), 0) + b"\x08\0\0\0\0\x03\xe8\0" + inner
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def tagged(frame: bytes, vlan: int) -> bytes:
    return frame[:12] + struct.pack("!HH", 0x8100, vlan) + frame[12:]


def test_the_probe_frames_have_good_checksums_and_are_found_plain_tagged_and_encapsulated():
    f = echo()
    assert checksum(f[14:34]) == 0 and checksum(f[34:]) == 0
    probe = ProbeId("icmp", TOKEN)
    assert classify(f, probe)[0] == "request"
    assert classify(tagged(f, 101), probe)[0] == "request"
    assert classify(vxlan(f), probe)[0] == "request"
    assert classify(vxlan(echo(0)), probe)[0] == "reply"
    assert classify(echo(), ProbeId("icmp", "f" * 16)) is None  # another run's probe
    assert classify(b"\0" * 10, probe) is None
    hop = PathHop("network", "network-uplink", "eth1")
    tally(hop, [(1, vxlan(f)), (1, vxlan(echo(0))), (1, echo(0)), (1, b"junk")], probe)
    assert (hop.seen_request, hop.seen_reply) == (1, 2)


def test_an_uplink_counts_only_its_own_tunnel_packets():
    # the underlay switch floods compute-1's packet to compute-2 (a MAC it aged out) to the network node's
    # port too: seen there, it must not read as the request reaching the network node
    probe = ProbeId("icmp", TOKEN)
    c1, c2, net = bytes([10, 0, 99, 11]), bytes([10, 0, 99, 12]), bytes([10, 0, 99, 10])
    hop = PathHop("network", "network-uplink", "eth1", endpoints=frozenset({"10.0.99.10"}))
    tally(hop, [(1, vxlan(echo(), c1, c2))], probe)
    assert hop.seen_request == 0
    tally(hop, [(1, vxlan(echo(), c1, net)), (1, vxlan(echo(0), net, c1))], probe)
    assert (hop.seen_request, hop.seen_reply) == (1, 1)
    assert classify(vxlan(echo(), c1, c2), probe)[0] == "request"  # without endpoints every packet counts


def test_tcp_syn_and_its_answer_are_matched_by_sequence_number():
    req = VmProbeRequest(
        mac=VM_MAC,
        src_ip="192.168.1.10",
        gateway_mac=GW_MAC,
        dst_ip="203.0.113.10",
        protocol="tcp",
        port=80,
        ident=40000,
        token=TOKEN,
        interface="qvb1",
    )
    syn = probe_frames.tcp_syn(VM_MAC, GW_MAC, "192.168.1.10", "203.0.113.10", 40000, 80, req.tcp_seq())
    assert checksum(syn[14:34]) == 0
    probe = ProbeId("tcp", TOKEN, 80)
    assert classify(syn, probe)[0] == "request"
    ack = probe_frames.tcp_syn(GW_MAC, VM_MAC, "203.0.113.10", "192.168.1.10", 80, 40000, 7)
    ack = ack[:42] + struct.pack("!I", req.tcp_seq() + 1) + ack[46:47] + b"\x12" + ack[48:]  # SYN-ACK
    kind, text = classify(ack, probe)
    assert kind == "reply" and "SA" in text


def test_requests_are_bounded_and_validated():
    base = dict(mac=VM_MAC, src_ip="192.168.1.10", gateway_mac=GW_MAC, dst_ip="203.0.113.10", ident=1, token=TOKEN)
    with pytest.raises(ValueError, match="either interface"):
        VmProbeRequest(**base)
    with pytest.raises(ValueError, match="TCP probe needs port"):
        VmProbeRequest(**base, protocol="tcp", interface="qvb1")
    with pytest.raises(ValueError):
        VmProbeRequest(**base, interface="qvb1", count=50)
    with pytest.raises(ValueError, match="token"):
        VmProbeRequest(**{**base, "token": "ZZ"}, interface="qvb1")
    assert "vlan" in bpf(Target("203.0.113.10", None, "--to", True, True, GW_MAC))


def path(**seen: str) -> list[PathHop]:
    """The vxlan VM's hops; ``seen``: hop name -> "R", "Q", "RQ" or "!" (capture error)."""
    hops = [
        PathHop("compute-1", "vm-tap", "tap1", request=False),
        PathHop("compute-1", "compute-uplink", "eth1"),
        PathHop("network", "network-uplink", "eth1"),
        PathHop("network", "qr", "qr-1", "qrouter-r"),
        PathHop("network", "qg", "qg-1", "qrouter-r"),
        PathHop("network", "external", "ext0"),
    ]
    for h in hops:
        s = seen.get(h.name.replace("-", "_"), "")
        h.seen_request, h.seen_reply = int("R" in s), int("Q" in s)
        h.error = "no such device" if s == "!" else None
    return hops


ALL = dict(vm_tap="Q", compute_uplink="RQ", network_uplink="RQ", qr="RQ", qg="RQ", external="RQ")


def test_judge_names_the_last_hop_that_saw_each_direction():
    assert judge(path(**ALL), 2, "203.0.113.10").ok
    v = judge(path(compute_uplink="R", network_uplink="R", qr="R"), 2, "203.0.113.10")
    assert not v.ok and v.last_request.name == "qr" and v.lost_request.name == "qg"
    v = judge(path(**{**ALL, "vm_tap": "", "compute_uplink": "R"}), 2, "203.0.113.10")
    assert v.last_reply.name == "network-uplink" and v.lost_reply.name == "compute-uplink"
    v = judge(path(**{**ALL, "qg": "!"}), 2, "203.0.113.10")
    assert v.ok and not v.proven and "no capture on network/qg" in v.reason
    assert not judge(path(**ALL), 0, "x").ok


def probe_of(hops: list[PathHop]) -> VmProbe:
    t = Target("203.0.113.10", None, "--to", True, True, GW_MAC)
    return VmProbe(t, hops, 2, "2 x ICMP echo", judge(hops, 2, t.address), 0.9)


def healthy_probe() -> VmProbe:
    return probe_of(path(**ALL))


def forwarding(forward: bool = True, routes: tuple[str, ...] = ("default via 198.51.100.1 dev qg-1",), rules=()):
    state = RouterState(netns="qrouter-r", ip_forward=forward, routes=list(routes), links={"qg-1": True})
    return RouterForwarding(state, IptablesResponse(netns="qrouter-r", table="filter", rules=list(rules)))


def own_packet(probe: VmProbe, fw: RouterForwarding | None = None) -> CheckResult:
    (row,) = REGISTRY.checks["vm-own-packet"].evaluate(healthy(), evidence(vm_probe=probe, router_forwarding=fw))
    return row


@pytest.mark.parametrize(
    "fw,words,step",
    [
        (forwarding(forward=False), "ip_forward=0", "sysctl -w net.ipv4.ip_forward=1"),
        (forwarding(routes=("192.168.1.0/24 dev qr-1",)), "no route to 203.0.113.10", "restore"),
        (
            forwarding(rules=(":FORWARD ACCEPT [0:0]", "-A FORWARD -o qg-1 -j DROP")),
            "FORWARD drops: -A FORWARD -o qg-1 -j DROP",
            "remove the DROP",
        ),
    ],
)
def test_a_router_that_receives_and_does_not_send_is_named_with_its_state(fw, words, step):
    row = own_packet(probe_of(path(compute_uplink="R", network_uplink="R", qr="R")), fw)
    assert row.verdict == Verdict.FAIL and row.cause == "router not forwarding" and row.catalogue == 7
    assert words in row.evidence and "stops after network/qr" in row.evidence
    assert step in row.next_step and "L3 agent" in row.next_step


def test_state_helpers():
    st = RouterState(netns="n", routes=["default via 1.1.1.1 dev qg-1", "203.0.113.0/24 dev qg-1"])
    assert route_to(st, "203.0.113.10") == "203.0.113.0/24 dev qg-1"
    assert route_to(RouterState(netns="n", routes=[]), "203.0.113.10") is None
    filt = IptablesResponse(netns="n", table="filter", rules=[":FORWARD DROP [0:0]", "-A FORWARD -j ACCEPT"])
    assert forward_drops(filt) == [":FORWARD DROP [0:0]"]


def test_a_lost_request_elsewhere_names_the_side_and_no_answer_is_upstream():
    row = own_packet(probe_of(path(compute_uplink="R")))
    assert row.verdict == Verdict.FAIL and row.cause == "VM's packet lost on the network node (network-uplink)"
    row = own_packet(probe_of(path(compute_uplink="R", network_uplink="R", qr="R", qg="R", external="R")))
    assert row.cause == "destination does not answer the VM"


def test_no_healthy_verdict_without_the_proof():
    ok = CheckResult("x", Verdict.OK, "fine")
    assert diagnose([ok]).healthy  # a chain without a proof check (OVN today) is judged as before
    d = diagnose([ok], require_proof=True)
    assert not d.healthy and d.root_cause is None and d.summary.startswith("not proven")
    proof = own_packet(healthy_probe())
    assert proof.verdict == Verdict.OK and proof.proof
    assert diagnose([ok, proof], require_proof=True).healthy
    partial = own_packet(probe_of(path(**{**ALL, "qg": "!"})))
    assert partial.verdict == Verdict.SKIPPED
    d = diagnose([ok, partial], require_proof=True)
    assert not d.healthy and "not proven" in d.summary and d.not_proven
    skipped_link = CheckResult("reachable from router", Verdict.SKIPPED, "silence proves nothing", unproven=True)
    assert not diagnose([ok, skipped_link, proof], require_proof=True).healthy


def test_the_target_is_to_else_the_gateway():
    f = healthy()
    t = target_of(f)
    assert t is not None and t.address == str(f.to.address) and t.beyond_router and t.via_router
    f.to = None
    t = target_of(f)
    assert t is not None and t.address == f.subnet.gateway_ip and not t.beyond_router


def network_show(f, qr_tag: int = 1, dhcp_iface_id: str | None = None) -> OvsShowResponse:
    """The network node's Open vSwitch for ``f``: the DHCP and router ports on br-int (local VLAN 1), a
    tunnel port back to the compute node."""

    def port(name: str, iface_id: str, tag: int) -> OvsPortInfo:
        iface = OvsInterfaceInfo(name=name, ofport=5, external_ids={"iface-id": iface_id} if iface_id else {})
        return OvsPortInfo(name=name, tag=tag, other_config={"tag": "1"}, interfaces=[iface])

    dp, rp = f.dhcp_ports[0], f.router_port
    tun = OvsPortInfo(
        name="vxlan-0b",
        interfaces=[OvsInterfaceInfo(name="vxlan-0b", type="vxlan", ofport=2, options={"remote_ip": "10.0.99.9"})],
    )
    ports = [port(f"tap{dp.id[:11]}", dp.id if dhcp_iface_id is None else dhcp_iface_id, 1)]
    ports.append(port(f"qr-{rp.id[:11]}", rp.id, qr_tag))
    bridges = [OvsBridgeInfo(name="br-int", ports=ports), OvsBridgeInfo(name="br-tun", ports=[tun])]
    return OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=bridges)


def ports_row(f, **over) -> CheckResult:
    ovs = {"compute-1": show(), "network": network_show(f, **over)}
    (row,) = REGISTRY.checks["network-ports-on-br-int"].evaluate(f, evidence(ovs=ovs))
    return row


def test_the_network_node_end_is_checked_as_the_compute_end():
    f = healthy()
    row = ports_row(f)
    assert row.verdict == Verdict.OK and "DHCP port" in row.evidence and "router port qr-" in row.evidence
    row = ports_row(f, qr_tag=7)
    assert row.verdict == Verdict.FAIL and row.cause == "wrong local VLAN tag on br-int on network"
    assert "ovs-vsctl set Port qr-" in row.next_step
    row = ports_row(f, dhcp_iface_id="")
    assert row.verdict == Verdict.FAIL and row.cause == "DHCP port not plugged into br-int on network"
    (under,) = REGISTRY.checks["underlay-ports"].evaluate(
        f, evidence(ovs={"compute-1": show(), "network": network_show(f)})
    )
    assert under.verdict == Verdict.OK and "network: tunnel ports to 10.0.99.9" in under.evidence
    no_tun = network_show(f)
    no_tun.bridges = no_tun.bridges[:1]
    (under,) = REGISTRY.checks["underlay-ports"].evaluate(f, evidence(ovs={"compute-1": show(), "network": no_tun}))
    assert (
        under.verdict == Verdict.FAIL and under.cause == "tunnel port missing" and "toward compute-1" in under.evidence
    )


def test_a_route_missing_in_the_router_is_the_routers_not_upstreams():
    f = healthy()
    ev = evidence(
        to=pong(str(f.to.address), received=0), router_forwarding=forwarding(routes=("192.168.1.0/24 dev qr-1",))
    )
    (row,) = REGISTRY.checks["destination-reachable"].evaluate(f, ev)
    assert row.cause == "router has no route to the destination" and "upstream" not in row.next_step
    ev = evidence(to=pong(str(f.to.address), received=0), router_forwarding=forwarding())
    (row,) = REGISTRY.checks["destination-reachable"].evaluate(f, ev)
    assert row.cause == "destination unreachable beyond the router"


def test_a_dhcp_trace_ends_a_settle_after_every_hop_saw_the_offer():
    import time
    from types import SimpleNamespace

    from steth.probes.dhcp import _wait

    offer = SimpleNamespace(message="OFFER", xid=7)
    both = [
        SimpleNamespace(frames=[offer]),
        SimpleNamespace(frames=[SimpleNamespace(message="DISCOVER", xid=7), offer]),
    ]
    t0 = time.monotonic()
    _wait(both, t0 + 5, 7, 0.5)
    assert 0.4 < time.monotonic() - t0 < 2  # the settle, not the window
    t0 = time.monotonic()
    _wait([SimpleNamespace(frames=[offer]), SimpleNamespace(frames=[])], t0 + 0.6, 7, 0.5)  # one hop without it
    assert time.monotonic() - t0 >= 0.59
    t0 = time.monotonic()
    _wait(both, t0 + 0.6, 8, 0.5)  # another exchange's OFFER
    assert time.monotonic() - t0 >= 0.59


def test_a_hop_whose_interface_is_gone_is_a_fail_not_an_error():
    from steth.controller.checks.dhcp import Analysis, HopResult

    f = healthy()
    hops = [
        HopResult("compute-1", "compute-uplink", "eth1", True, False, [], None),
        HopResult("network", "qdhcp", "tap1", False, False, [], "network namespace qdhcp-x does not exist"),
    ]
    a = Analysis(Verdict.ERROR, "capture on network/tap1 failed", hops, [])
    (row,) = REGISTRY.checks["dhcp-exchange"].evaluate(f, evidence(dhcp=a))
    assert row.verdict == Verdict.FAIL and row.cause == "no DHCP server for the network" and row.catalogue == 6
    hops[1].error = "agent network is unreachable"
    (row,) = REGISTRY.checks["dhcp-exchange"].evaluate(f, evidence(dhcp=a))
    assert row.verdict == Verdict.ERROR
