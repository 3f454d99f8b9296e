"""The DHCP frames of host/dhcp_frames.py on real sockets against a real dnsmasq: a DHCPDISCOVER injected in a
client namespace, captured leaving it and arriving at the server, and the server's OFFER captured on both
ends, decoded by wire/frames (also inside 802.1Q: the server's side of a tagged link).

Two fresh namespaces of this test joined by a veth; dnsmasq runs in the server one and is stopped by
its PID; both namespaces are deleted at the end.
"""

from __future__ import annotations

import random
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from steth.host import dhcp_frames

from .conftest import NS_PREFIX, ip, ip_json, netns_names, skip_unless_root, stop_process

skip_unless_root()

pytestmark = [pytest.mark.root]
if shutil.which("dnsmasq") is None:
    pytest.skip("needs dnsmasq (the dnsmasq-base package)", allow_module_level=True)

SERVER_IP = "10.254.77.1"
CLIENT_MAC = "fa:16:3e:12:34:56"
WAIT_BOUND = 20.0  # seconds: dnsmasq may wait ~3 s before an OFFER; only a bound against a hang


@dataclass
class Pair:
    client: str
    server: str
    server_mac: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[Pair]:
    suffix = secrets.token_hex(3)
    client, server = f"{NS_PREFIX}dh{suffix}-c", f"{NS_PREFIX}dh{suffix}-s"
    work = tmp_path_factory.mktemp("dnsmasq")
    dnsmasq = None
    try:
        for ns in (client, server):
            ip("netns", "add", ns)
            ip("link", "set", "lo", "up", ns=ns)
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", server, ns=client)
        ip("link", "set", "eth0", "up", ns=client)
        ip("addr", "add", f"{SERVER_IP}/24", "dev", "eth0", ns=server)
        ip("link", "set", "eth0", "up", ns=server)
        server_mac = ip_json("link", "show", "eth0", ns=server)[0]["address"]
        log = open(work / "dnsmasq.log", "w")  # closed once dnsmasq holds it
        dnsmasq = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                server,
                "dnsmasq",
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-hosts",
                "--no-resolv",
                "--port=0",
                "--user=root",
                "--interface=eth0",
                "--bind-interfaces",
                "--dhcp-range=10.254.77.100,10.254.77.150,255.255.255.0,1h",
                f"--dhcp-leasefile={work / 'leases'}",
                "--no-ping",  # offer at once, without dnsmasq's ~3 s check that the address is free
                "--log-facility=-",  # to stderr, read below to know it is serving
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + WAIT_BOUND
        while "DHCP, IP range" not in (work / "dnsmasq.log").read_text() and time.monotonic() < deadline:
            assert dnsmasq.poll() is None, (work / "dnsmasq.log").read_text()
            time.sleep(0.05)
        yield Pair(client, server, server_mac)
    finally:
        if dnsmasq is not None:
            stop_process(dnsmasq)
        for ns in (client, server):
            ip("netns", "del", ns, check=False)
    assert not {client, server} & netns_names()


def trace(pair: Pair, xid: int, frame: bytes) -> tuple[list[dhcp_frames.DhcpFrame], list[dhcp_frames.DhcpFrame]]:
    """Capture on both ends, send ``frame`` from the client, stop once both ends saw the OFFER."""
    at_client = dhcp_frames.Capture("eth0", pair.client).start()
    at_server = dhcp_frames.Capture("eth0", pair.server).start()
    try:
        dhcp_frames.send("eth0", frame, pair.client)
        deadline = time.monotonic() + WAIT_BOUND
        while time.monotonic() < deadline:
            if all(any(f.message == "OFFER" and f.xid == xid for f in c.frames) for c in (at_client, at_server)):
                break
            time.sleep(0.05)
    finally:
        client_frames, server_frames = at_client.stop(), at_server.stop()
    return client_frames, server_frames


def test_discover_and_offer_seen_on_both_ends(pair):
    xid = random.randint(1, 0xFFFFFFFF)
    client, server = trace(pair, xid, dhcp_frames.discover(CLIENT_MAC, xid))
    ours = [f for f in client if f.xid == xid]
    assert [(f.message, f.outgoing) for f in ours] == [("DISCOVER", True), ("OFFER", False)]
    discover, offer = ours
    assert (discover.client_mac, discover.src_mac, discover.dst_mac) == (CLIENT_MAC, CLIENT_MAC, "ff:ff:ff:ff:ff:ff")
    assert (discover.src_ip, discover.dst_ip, discover.your_ip, discover.server_id) == (
        "0.0.0.0",
        "255.255.255.255",
        None,
        None,
    )
    assert offer.client_mac == CLIENT_MAC and offer.src_mac == pair.server_mac
    assert offer.src_ip == SERVER_IP and offer.server_id == SERVER_IP
    assert offer.your_ip is not None and offer.your_ip.startswith("10.254.77.")
    assert 100 <= int(offer.your_ip.rsplit(".", 1)[1]) <= 150
    assert offer.vlan is None and offer.vni is None
    seen = [(f.message, f.outgoing) for f in server if f.xid == xid]
    assert seen == [("DISCOVER", False), ("OFFER", True)]


def test_tag_in_band_is_reported(pair):
    # a DISCOVER sent with an 802.1Q tag: the sender's own capture sees the tag in band (the server's
    # kernel, with no VLAN 9 there, answers nothing; the receiving side moves the tag to metadata)
    xid = random.randint(1, 0xFFFFFFFF)
    frame = dhcp_frames.discover(CLIENT_MAC, xid)
    tagged = frame[:12] + b"\x81\x00\x00\x09" + frame[12:]
    at_client = dhcp_frames.Capture("eth0", pair.client).start()
    try:
        dhcp_frames.send("eth0", tagged, pair.client)
        deadline = time.monotonic() + WAIT_BOUND
        while not any(f.xid == xid for f in at_client.frames) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        got = [f for f in at_client.stop() if f.xid == xid]
    assert [(f.message, f.outgoing, f.vlan) for f in got] == [("DISCOVER", True, 9)]


def vxlan_packet(dst_mac: str, src_ip: str, dst_ip: str, inner: bytes) -> bytes:
    """``inner`` in VXLAN (VNI 77) in UDP 4789 in IPv4 from ``src_ip`` to ``dst_ip``, as a VTEP sends it."""
    import socket
    import struct

    from steth.host.inet import checksum

    payload = struct.pack("!II", 0x08000000, 77 << 8) + inner
    udp = struct.pack("!HHHH", 49152, 4789, 8 + len(payload), 0) + payload
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                       socket.inet_aton(src_ip), socket.inet_aton(dst_ip))  # fmt: skip
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return (
        bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(CLIENT_MAC.replace(":", "")) + b"\x08\x00" + head + udp
    )


def test_tunnel_packets_between_other_nodes_are_not_counted(pair):
    # CI once saw a DISCOVER "reach" the network node while VXLAN to it was dropped: the underlay switch
    # flooded the copy compute-1 sent to compute-2 (a MAC it had aged out) to every port. A node counts
    # only tunnel packets from or to one of its own addresses.
    from steth.host import netlink

    xid = random.randint(1, 0xFFFFFFFF)
    inner = dhcp_frames.discover(CLIENT_MAC, xid)
    local = netlink.local_ipv4(pair.server)
    assert SERVER_IP in local
    at_server = dhcp_frames.Capture("eth0", pair.server, local).start()
    try:
        dhcp_frames.send("eth0", vxlan_packet(pair.server_mac, "10.254.77.5", "10.254.77.9", inner), pair.client)
        dhcp_frames.send("eth0", vxlan_packet(pair.server_mac, "10.254.77.5", SERVER_IP, inner), pair.client)
        deadline = time.monotonic() + WAIT_BOUND
        while not any(f.xid == xid for f in at_server.frames) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the transit packet was sent first: it has been read by now
    finally:
        got = [f for f in at_server.stop() if f.xid == xid]
    assert [(f.message, f.vni) for f in got] == [("DISCOVER", 77)]
    assert at_server.transit == 1
