"""DHCP frames (build, parse, VLAN, VXLAN) and the DHCP check's plan and analysis, without a network."""

from __future__ import annotations

import struct

import pytest

from steth.controller.checks.dhcp import analyse, plan
from steth.host.dhcp_frames import discover, parse
from steth.openstack.adapter import NetworkInfo, PortInfo
from steth.wire.models import DhcpHop, DhcpMessage, DhcpTraceResponse, Verdict

MAC = "fa:16:3e:00:00:01"
XID = 0x1234ABCD


def port(
    pid="11111111-2222-3333-4444-555555555555", host="compute-1", hybrid=True, owner="compute:nova", ip="192.168.1.10"
):
    return PortInfo(
        id=pid,
        name="",
        mac_address=MAC,
        fixed_ips=[{"ip_address": ip}],
        network_id="net-1",
        status="ACTIVE",
        binding_host=host,
        vif_type="ovs",
        vif_details={"ovs_hybrid_plug": hybrid},
        vnic_type="normal",
        device_id="vm",
        device_owner=owner,
        admin_state_up=True,
    )


NET = NetworkInfo(id="net-1", name="n", status="ACTIVE", mtu=1500, admin_state_up=True, segments=[], subnet_ids=[])
DHCP = port(pid="dddddddd-2222-3333-4444-555555555555", host="network", owner="network:dhcp", ip="192.168.1.2")


def offer_frame(server="192.168.1.2", xid=XID):
    d = bytearray(discover(MAC, xid))
    # turn the DISCOVER into an OFFER from ``server``: op=2, message type 2, option 54
    d[14 + 20 + 8] = 2
    opts = 14 + 20 + 8 + 240
    assert d[opts : opts + 3] == bytes([53, 1, 1])
    d[opts + 2] = 2
    d[opts + 3 : opts + 3 + 6] = bytes([54, 4]) + bytes(int(x) for x in server.split("."))
    d[14 + 20 + 8 + 16 : 14 + 20 + 8 + 20] = bytes([192, 168, 1, 10])
    return bytes(d)


def test_discover_roundtrip_and_checksums():
    f = discover(MAC, XID)
    m = parse(f)
    assert m.message == "DISCOVER" and m.xid == XID and m.client_mac == MAC and m.src_mac == MAC
    assert m.dst_ip == "255.255.255.255" and m.vlan is None and m.vni is None
    ip = f[14:34]
    s = sum(struct.unpack("!10H", ip))
    assert (s + (s >> 16)) & 0xFFFF == 0xFFFF  # IPv4 header checksum verifies


@pytest.mark.parametrize("port", [4789, 8472])  # IANA's, and the Linux kernel's default (the linuxbridge agent's)
def test_vlan_and_vxlan_frames(port):
    f = discover(MAC, XID)
    tagged = f[:12] + b"\x81\x00\x00\x65" + f[12:]
    assert parse(tagged).vlan == 101
    inner = f
    outer_udp = struct.pack("!HHHH", 50000, port, 8 + 8 + len(inner), 0)
    vx = b"\x08\x00\x00\x00" + (1001).to_bytes(3, "big") + b"\x00"
    outer_ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(outer_udp) + len(vx) + len(inner),
        0,
        0,
        64,
        17,
        0,
        bytes([10, 0, 0, 1]),
        bytes([10, 0, 0, 2]),
    )
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + outer_ip + outer_udp + vx + inner
    m = parse(frame)
    assert m.message == "DISCOVER" and m.vni == 1001
    assert parse(b"\x00" * 60) is None


def test_offer_parse():
    m = parse(offer_frame())
    assert m.message == "OFFER" and m.server_id == "192.168.1.2" and m.your_ip == "192.168.1.10"


def test_plan_hybrid_and_direct():
    p = plan(port(), NET, [DHCP], ["network"])
    assert [(h.node, h.name, h.interface) for h in p.hops] == [
        ("compute-1", "vm-tap", "tap11111111-22"),
        ("compute-1", "qvb", "qvb11111111-22"),
        ("compute-1", "qvo", "qvo11111111-22"),
        ("compute-1", "compute-uplink", "eth1"),
        ("network", "network-uplink", "eth1"),
        ("network", "qdhcp", "tapdddddddd-22"),
    ]
    assert p.inject.interface == "qvb11111111-22" and p.hops[-1].netns == "qdhcp-net-1"
    d = plan(port(hybrid=False), NET, [DHCP], ["network"])
    assert d.inject.bridge == "br-int" and d.inject.ovs_port == "tap11111111-22"
    reqs = d.requests(6, XID)
    assert set(reqs) == {"compute-1", "network"} and reqs["network"].inject is None


def msg(kind, server=None):
    return DhcpMessage(
        message=kind, xid=XID, client_mac=MAC, src_mac=MAC, src_ip="0.0.0.0", dst_ip="255.255.255.255", server_id=server
    )


def results(p, seen):
    """seen: hop name -> list of messages."""
    out = {}
    for node in {h.node for h in p.hops}:
        hops = [
            DhcpHop(name=h.name, interface=h.interface, netns=h.netns, messages=seen.get(h.name, []))
            for h in p.hops
            if h.node == node
        ]
        out[node] = DhcpTraceResponse(xid=XID, injected=node == "compute-1", hops=hops, verdict=Verdict.OK)
    return out


def test_analysis_ok_stop_and_rogue():
    p = plan(port(), NET, [DHCP], ["network"])
    both = [msg("DISCOVER"), msg("OFFER", "192.168.1.2")]
    healthy = {h: both for h in ("qvb", "qvo", "compute-uplink", "network-uplink", "qdhcp")}
    healthy["vm-tap"] = [msg("OFFER", "192.168.1.2")]
    assert analyse(p, results(p, healthy), XID).verdict == Verdict.OK
    cut = dict(healthy, **{"network-uplink": [], "qdhcp": []})
    a = analyse(p, results(p, cut), XID)
    assert a.verdict == Verdict.FAIL and "stops after compute-1/compute-uplink" in a.reason
    silent = {h: [msg("DISCOVER")] for h in ("qvb", "qvo", "compute-uplink", "network-uplink", "qdhcp")}
    a = analyse(p, results(p, silent), XID)
    assert "dnsmasq sent no OFFER" in a.reason
    rogue = {k: v + [msg("OFFER", "10.6.6.6")] for k, v in healthy.items()}
    a = analyse(p, results(p, rogue), XID)
    assert a.verdict == Verdict.FAIL and "rogue DHCP server 10.6.6.6" in a.reason
    err = results(p, healthy)
    err["network"] = OSError("unreachable")
    assert analyse(p, err, XID).verdict == Verdict.ERROR
