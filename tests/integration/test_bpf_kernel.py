"""The socket filters run by the kernel itself, on real packets, in a fresh namespace of this test:

- the VLAN probe filter on an AF_PACKET socket bound to one end of a veth pair: frames sent on the
  other end, tagged and untagged, probes and other traffic;
- the ICMP echo filters on the raw ICMP and ICMPv6 sockets host/icmp.py opens (a Pinger's own
  socket): echo replies, requests, errors and neighbour discovery sent over loopback.

Each batch ends with a sentinel that passes; packets travel in order, so once the sentinel is read
everything sent before it has been passed or dropped, and the set read is compared with the set that
should pass. The same programs run on crafted packets in tests/unit/test_bpf_filters.py.
"""

from __future__ import annotations

import secrets
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from steth.host import bpf, netns, packets
from steth.host.icmp import Pinger
from steth.host.inet import checksum

from .conftest import NS_PREFIX, ip, netns_names, run, skip_unless_root

skip_unless_root()

pytestmark = [pytest.mark.root]
READ_BOUND = 10.0  # seconds: only guards against a hang, never reached when the sentinel arrives


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"{NS_PREFIX}bpf{secrets.token_hex(3)}"
    ip("netns", "add", name)
    try:
        ip("link", "set", "lo", "up", ns=name)
        yield name
    finally:
        ip("netns", "del", name, check=False)
    assert name not in netns_names()


def sysctl(ns: str, key: str, value: str) -> None:
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])


def read_until(sock: socket.socket, sentinel: bytes, key: Callable[[bytes], bytes] = bytes) -> list[bytes]:
    """``key`` of everything queued on ``sock`` up to and including the packet whose key is ``sentinel``."""
    got: list[bytes] = []
    deadline = time.monotonic() + READ_BOUND
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        got.append(key(sock.recv(65535)))
        if got[-1] == sentinel:
            return got
    raise AssertionError(f"the sentinel never arrived; read {len(got)} packets")


# ---- AF_PACKET: the VLAN probe filter ----------------------------------------------------


def test_probe_filter_in_the_kernel(ns):
    sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")  # no router solicitations or MLD on the veth
    sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
    ip("link", "add", "bpfa", "type", "veth", "peer", "name", "bpfb", ns=ns)
    for dev in ("bpfa", "bpfb"):
        ip("link", "set", dev, "up", ns=ns)

    def open_sockets() -> tuple[socket.socket, socket.socket]:
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        bpf.attach(rx, packets.probe_filter())  # before bind, as the listener does
        rx.bind(("bpfb", packets.ETH_P_ALL))
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        tx.bind(("bpfa", 0))
        return rx, tx

    rx, tx = netns.call_in(ns, open_sockets)
    mac = bytes.fromhex("020000000001")
    template = packets.FrameTemplate(mac, packets.run_id_bytes("abcdef01"), "node-a", "bpfa")
    bcast = b"\xff" * 6 + mac

    def other(types: bytes, marker: int) -> bytes:
        return (bcast + types + bytes([marker]) * 40).ljust(60, b"\0")

    untagged, tagged, sentinel = template.frame(0), template.frame(100), template.frame(4094)
    passing = [untagged, tagged]
    dropped = [
        other(b"\x08\x00", 1),  # IPv4
        other(b"\x08\x06", 2),  # ARP
        other(b"\x86\xdd", 3),  # IPv6
        other(b"\x81\x00\x00\x64\x08\x00", 4),  # IPv4 in VLAN 100
        other(b"\x08\x00\x00\x00\x88\xb5", 5),  # 0x88B5 where an inner type would be, behind IPv4
    ]
    try:
        for frame in dropped[:3] + passing[:1] + dropped[3:] + passing[1:] + [sentinel]:
            tx.send(frame)
        got = read_until(rx, sentinel[:12] + sentinel[16:])
    finally:
        rx.close()
        tx.close()
    # tagged frames arrive with the tag moved to metadata (what the listener reads from auxdata)
    assert got == [untagged, tagged[:12] + tagged[16:], sentinel[:12] + sentinel[16:]]


# ---- raw ICMP sockets: the echo filters -------------------------------------------------


def icmp(kind: int, code: int, ident: int, seq: int, data: bytes) -> bytes:
    body = struct.pack("!BBHHH", kind, code, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def quoted_request(ident: int) -> bytes:
    """The start of an echo request of ours, as an ICMP error quotes it (IPv4 header and 8 bytes)."""
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 84, 0, 0x4000, 64, 1, 0, socket.inet_aton("127.0.0.1"), socket.inet_aton("10.9.9.9")
    )
    return hdr + icmp(8, 0, ident, 7, b"")


def test_icmp4_filter_in_the_kernel(ns):
    sysctl(ns, "net.ipv4.icmp_echo_ignore_all", "1")  # the kernel answers no request: only what we send arrives
    pinger = Pinger(4, netns=ns)
    tx = netns.call_in(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    me = pinger.ident
    passing = [
        icmp(0, 0, me, 1, b"reply"),
        icmp(3, 1, 0, 0, quoted_request(me)),  # host unreachable
        icmp(3, 4, 0, 1400, quoted_request(me)),  # fragmentation needed
        icmp(11, 0, 0, 0, quoted_request(me)),  # time exceeded
    ]
    dropped = [
        icmp(0, 0, me ^ 1, 1, b"other request's reply"),
        icmp(8, 0, me, 1, b"a peer's request"),
        icmp(13, 0, me, 1, b""),  # timestamp request, too short for the kernel to answer
    ]
    sentinel = icmp(0, 0, me, 99, b"sentinel")
    try:
        for pkt in [dropped[0], passing[0], dropped[1], *passing[1:], dropped[2], sentinel]:
            tx.sendto(pkt, ("127.0.0.1", 0))
        got = read_until(pinger.sock, sentinel, key=lambda d: d[(d[0] & 0x0F) * 4 :])  # after the IP header
    finally:
        tx.close()
        pinger.close()
    assert got == [*passing, sentinel]


def icmp6(kind: int, ident: int, seq: int, data: bytes) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data  # the kernel fills in the checksum


def test_icmp6_filter_in_the_kernel(ns):
    sysctl(ns, "net.ipv6.icmp.echo_ignore_all", "1")
    pinger = Pinger(6, netns=ns)
    tx = netns.call_in(ns, lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
    me = pinger.ident
    quoted = struct.pack("!IHBB", 6 << 28, 8, 58, 64) + socket.inet_pton(socket.AF_INET6, "::1") * 2
    quoted += icmp6(128, me, 3, b"")
    passing = [icmp6(129, me, 1, b"reply")] + [icmp6(kind, 0, 0, quoted) for kind in (1, 2, 3, 4)]
    dropped = [icmp6(129, me ^ 1, 1, b"other")] + [icmp6(kind, me, 1, b"\0" * 16) for kind in (128, 133, 135, 136)]
    sentinel = icmp6(129, me, 99, b"sentinel")

    def no_checksum(packet: bytes) -> bytes:
        return packet[:2] + packet[4:]

    try:
        for pkt in [dropped[0], passing[0], *dropped[1:3], *passing[1:], *dropped[3:], sentinel]:
            tx.sendto(pkt, ("::1", 0))
        got = read_until(pinger.sock, no_checksum(sentinel), key=no_checksum)
    finally:
        tx.close()
        pinger.close()
    assert got == [no_checksum(p) for p in [*passing, sentinel]]
