"""pcap/pcapng writing and reading, the agent's record framer, merging, and per-packet summaries."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess

import pytest

from steth.controller.decode import summarize, summary_line
from steth.host.inet import checksum
from steth.wire.capture import CaptureRequest
from steth.wire.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    Packet,
    PcapFormatError,
    PcapFramer,
    PcapHeader,
    PcapngInterface,
    PcapngWriter,
    PcapReader,
    merge,
    read_pcap,
    read_pcapng,
    write_pcap,
)

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ipv4(src: str, dst: str, proto: int, payload: bytes, flags_frag: int = 0) -> bytes:
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        1,
        flags_frag,
        64,
        proto,
        0,
        bytes(map(int, src.split("."))),
        bytes(map(int, dst.split("."))),
    )
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def ether(payload: bytes, ethertype: int, vlans: tuple[int, ...] = ()) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, v) for v in vlans)
    return MAC_B + MAC_A + tags + struct.pack("!H", ethertype) + payload


def icmp_echo(kind: int, ident: int, seq: int) -> bytes:
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"x" * 56
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def echo_frame(seq: int = 1, vlans: tuple[int, ...] = ()) -> bytes:
    return ether(ipv4("10.0.1.11", "10.0.1.12", 1, icmp_echo(8, 77, seq)), 0x0800, vlans)


# ---- pcap ----------------------------------------------------------------------


def packets(n: int, hop: int = 0, start: int = 1_700_000_000_123_456_789, step: int = 1000) -> list[Packet]:
    return [Packet(start + i * step, echo_frame(i), 98, LINKTYPE_ETHERNET, hop) for i in range(n)]


@pytest.mark.parametrize("nanos", [True, False])
def test_pcap_round_trip(nanos):
    buf = io.BytesIO()
    assert write_pcap(buf, packets(3), nanos=nanos) == 3
    buf.seek(0)
    header, got = read_pcap(buf)
    assert header.linktype == LINKTYPE_ETHERNET and header.nanos is nanos
    want = packets(3)
    for g, w in zip(got, want):
        assert g.data == w.data and g.orig_len == 98
        assert g.ts_ns == (w.ts_ns if nanos else w.ts_ns // 1000 * 1000)
    assert len(got) == 3


def test_pcap_big_endian_header_is_read():
    raw = PcapHeader(">", False, 65535, LINKTYPE_RAW).to_bytes()
    raw += struct.pack(">IIII", 10, 5, 4, 4) + b"abcd"
    header, got = read_pcap(io.BytesIO(raw))
    assert header.endian == ">" and header.linktype == LINKTYPE_RAW
    assert got[0].ts_ns == 10_000_005_000 and got[0].data == b"abcd"


def test_not_a_pcap_is_an_error():
    with pytest.raises(PcapFormatError):
        read_pcap(io.BytesIO(b"GET / HTTP/1.1\r\n\r\n......"))


def test_reader_fed_byte_by_byte_yields_every_packet_once():
    buf = io.BytesIO()
    write_pcap(buf, packets(5))
    reader = PcapReader(hop=2)
    got = []
    for b in buf.getvalue():
        got += reader.feed(bytes([b]))
    assert [p.data for p in got] == [p.data for p in packets(5)]
    assert {p.hop for p in got} == {2} and reader.leftover == 0


def test_framer_never_splits_a_record_and_keeps_within_the_limit():
    buf = io.BytesIO()
    write_pcap(buf, packets(10))
    raw = buf.getvalue()
    record = 16 + len(echo_frame(0))
    limit = 24 + 3 * record + record // 2  # room for 3.5 records
    framer = PcapFramer(limit)
    out = b"".join(framer.feed(raw[i : i + 7]) for i in range(0, len(raw), 7))
    assert len(out) == 24 + 3 * record and framer.packets == 3 and framer.full
    _, got = read_pcap(io.BytesIO(out))
    assert len(got) == 3


def test_framer_holds_back_a_partial_record():
    buf = io.BytesIO()
    write_pcap(buf, packets(2))
    raw = buf.getvalue()
    framer = PcapFramer()
    first = framer.feed(raw[:-5])
    assert framer.packets == 1 and framer.pending == len(raw) - 5 - len(first)
    rest = framer.feed(raw[-5:])
    assert first + rest == raw and framer.packets == 2


# ---- pcapng --------------------------------------------------------------------


def test_pcapng_round_trip_with_interface_names():
    buf = io.BytesIO()
    w = PcapngWriter(buf)
    assert w.add_interface(PcapngInterface("compute-1/eth1")) == 0
    assert w.add_interface(PcapngInterface("network/eth1", description="in qrouter-x")) == 1
    for p in merge([packets(3, hop=0), packets(2, hop=1, start=1_700_000_000_123_456_789 + 500)]):
        w.write(p)
    buf.seek(0)
    ifaces, got = read_pcapng(buf)
    assert [i.name for i in ifaces] == ["compute-1/eth1", "network/eth1"]
    assert ifaces[1].description == "in qrouter-x" and ifaces[0].tsresol == 9
    assert [p.hop for p in got] == [0, 1, 0, 1, 0]
    assert [p.ts_ns for p in got] == sorted(p.ts_ns for p in got)
    assert got[0].ts_ns == 1_700_000_000_123_456_789  # nanoseconds survive
    assert got[0].data == echo_frame(0)


def test_packet_of_an_undescribed_interface_is_refused():
    w = PcapngWriter(io.BytesIO())
    with pytest.raises(ValueError):
        w.write(packets(1)[0])


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_pcapng_and_pcap_open_in_tcpdump(tmp_path):
    ng = tmp_path / "x.pcapng"
    with open(ng, "wb") as fh:
        w = PcapngWriter(fh)
        w.add_interface(PcapngInterface("a/eth0"))
        w.add_interface(PcapngInterface("b/eth1"))
        for p in merge([packets(2, hop=0), packets(2, hop=1, start=1_700_000_000_123_456_789 + 10)]):
            w.write(p)
    classic = tmp_path / "x.pcap"
    with open(classic, "wb") as fh:
        write_pcap(fh, packets(2))
    for path, n in ((ng, 4), (classic, 2)):
        out = subprocess.run(["tcpdump", "-nn", "-r", str(path)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert len(lines) == n and all("ICMP echo request" in line for line in lines), out.stdout


# ---- merge ---------------------------------------------------------------------


def test_merge_orders_by_time_and_keeps_hop_order_on_ties():
    a = [Packet(30, b"a3", 2, hop=0), Packet(10, b"a1", 2, hop=0), Packet(20, b"a2", 2, hop=0)]
    b = [Packet(10, b"b1", 2, hop=1), Packet(25, b"b2", 2, hop=1)]
    c: list[Packet] = []
    assert [p.data for p in merge([b, a, c])] == [b"a1", b"b1", b"a2", b"b2", b"a3"]


# ---- summaries -----------------------------------------------------------------


def test_icmp_echo_summary():
    s = summarize(LINKTYPE_ETHERNET, echo_frame(seq=3))
    assert (s.src, s.dst, s.proto) == ("10.0.1.11", "10.0.1.12", "ICMP")
    assert s.info == "echo request id 77 seq 3" and s.vlans == []


def test_vlan_tags_are_shown_outermost_first():
    s = summarize(LINKTYPE_ETHERNET, echo_frame(vlans=(100, 7)))
    assert s.vlans == [100, 7] and s.vlan == "100.7" and s.proto == "ICMP"
    line = summary_line(Packet(1_700_000_000_000_000_000, echo_frame(vlans=(101,)), 102), "compute-1/eth1")
    assert "compute-1/eth1 10.0.1.11 > 10.0.1.12 ICMP length 102 vlan 101 echo request" in line


def test_tcp_and_udp_summaries():
    tcp = struct.pack("!HHIIHHHH", 43210, 22, 1000, 0, (5 << 12) | 0x02, 64240, 0, 0)
    s = summarize(LINKTYPE_ETHERNET, ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp), 0x0800))
    assert (s.src, s.dst, s.proto, s.info) == ("10.0.0.1:43210", "10.0.0.2:22", "TCP", "flags [S] seq 1000")
    udp = struct.pack("!HHHH", 68, 67, 8 + 300, 0) + b"\0" * 300
    s = summarize(LINKTYPE_ETHERNET, ether(ipv4("0.0.0.0", "255.255.255.255", 17, udp), 0x0800))
    assert (s.src, s.dst, s.proto, s.info) == ("0.0.0.0:68", "255.255.255.255:67", "UDP", "length 300")


def test_arp_summary():
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, bytes([10, 0, 0, 1]), b"\0" * 6, bytes([10, 0, 0, 2])
    )
    s = summarize(LINKTYPE_ETHERNET, ether(arp, 0x0806))
    assert (s.proto, s.info) == ("ARP", "who-has 10.0.0.2 tell 10.0.0.1")


def test_ipv6_icmpv6_and_extension_header():
    src = bytes.fromhex("fe800000000000000000000000000001")
    dst = bytes.fromhex("ff020000000000000000000000000001")
    icmp6 = struct.pack("!BBHHH", 128, 0, 0, 5, 9)
    hop_by_hop = bytes([58, 0]) + b"\0" * 6  # next header ICMPv6, 8 bytes
    ip6 = struct.pack("!IHBB", 0x60000000, len(hop_by_hop) + len(icmp6), 0, 1) + src + dst + hop_by_hop + icmp6
    s = summarize(LINKTYPE_ETHERNET, ether(ip6, 0x86DD))
    assert (s.src, s.dst, s.proto, s.info) == ("fe80::1", "ff02::1", "ICMPv6", "echo request id 5 seq 9")


def test_raw_ip_linktype_and_truncated_frames_never_raise():
    s = summarize(LINKTYPE_RAW, ipv4("192.0.2.1", "192.0.2.2", 1, icmp_echo(0, 1, 2)))
    assert s.info == "echo reply id 1 seq 2"
    frame = echo_frame()
    for cut in range(0, len(frame)):
        summarize(LINKTYPE_ETHERNET, frame[:cut])  # must not raise
    assert "[truncated]" in summarize(LINKTYPE_ETHERNET, frame[:30]).info
    assert summarize(147, b"xx").proto == "linktype 147"


def test_later_fragment_has_no_transport_header():
    s = summarize(LINKTYPE_ETHERNET, ether(ipv4("10.0.0.1", "10.0.0.2", 17, b"\0" * 8, flags_frag=185), 0x0800))
    assert s.proto == "UDP" and s.info == "fragment offset 1480"


# ---- the request model ---------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"filter": "-w /etc/passwd"},
        {"filter": "icmp\n"},
        {"interface": "a/b"},
        {"netns": "../x"},
        {"duration": 0},
        {"count": 0},
        {"snaplen": 10},
        {"surprise": 1},
    ],
)
def test_capture_request_refuses(bad):
    with pytest.raises(ValueError):
        CaptureRequest(**{"interface": "eth0", **bad})


def test_capture_request_defaults():
    r = CaptureRequest(interface="eth1", filter="  icmp  ")
    assert r.filter == "icmp" and r.netns is None and r.count is None and r.snaplen == 262144


def test_reader_hands_on_the_bytes_it_completed():
    buf = io.BytesIO()
    write_pcap(buf, packets(3))
    raw = buf.getvalue()
    reader = PcapReader()
    out = b""
    for i in range(0, len(raw), 50):
        reader.feed(raw[i : i + 50])
        out += reader.last_bytes
    assert out == raw
