"""wire/frames.py, the one frame decoder: each layer on crafted bytes, tags in band and from auxdata,
IPv6 extension headers, DHCP options, VXLAN, and short or odd input (None, never an exception)."""

from __future__ import annotations

import socket
import struct

import pytest

from steth.host.dhcp_frames import discover
from steth.host.inet import checksum
from steth.wire import bootp, frames

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("fa163e00000b")


def ether(ethertype: int, payload: bytes, tags: tuple[tuple[int, int], ...] = ()) -> bytes:
    head = MAC_B + MAC_A + b"".join(struct.pack("!HH", tpid, tci) for tpid, tci in tags)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, frag: int = 0, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        4 * ihl + len(payload),
        7,
        frag,
        61,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return hdr + options + payload


def ipv6(nxt: int, payload: bytes, src: str = "fe80::1", dst: str = "ff02::1") -> bytes:
    addrs = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    return struct.pack("!IHBB", 6 << 28, len(payload), nxt, 255) + addrs + payload


def test_mac_text_and_bytes():
    assert frames.mac_text(MAC_B) == "fa:16:3e:00:00:0b"
    assert frames.mac_bytes("FA:16:3e:0:0:b") == MAC_B
    for bad in ("fa:16:3e:00:00", "fa:16:3e:00:00:0g", "fa16.3e00.000b", "fa:16:3e:00:00:100"):
        with pytest.raises(ValueError, match="not a MAC address"):
            frames.mac_bytes(bad)


def test_ethernet_untagged_and_802_3():
    eth = frames.ethernet(ether(0x0800, b"payload"))
    assert (eth.dst, eth.src, eth.tags, eth.ethertype, eth.payload) == (MAC_B, MAC_A, (), 0x0800, b"payload")
    llc = frames.ethernet(ether(38, b"\x42\x42\x03"))
    assert llc.ethertype == 38 and llc.payload.startswith(b"\x42\x42")


def test_ethernet_tags_in_band_outermost_first_priority_bits_kept():
    eth = frames.ethernet(ether(0x0800, b"x", tags=((0x88A8, 0x2000 | 300), (0x8100, 7), (0x9100, 4094))))
    assert eth.tags == (0x2000 | 300, 7, 4094) and eth.vlans == [300, 7, 4094]
    assert eth.ethertype == 0x0800 and eth.payload == b"x"


def test_ethernet_tag_the_kernel_stripped_comes_first():
    # what a packet socket reads from a double-tagged frame: the outer tag in auxdata, the inner in band
    eth = frames.ethernet(ether(0x86DD, b"", tags=((0x8100, 20),)), stripped_tci=0xE000 | 10)
    assert eth.vlans == [10, 20] and eth.tags[0] >> 13 == 7 and eth.ethertype == 0x86DD
    assert frames.ethernet(ether(0x0800, b""), stripped_tci=0).vlans == [0]


def test_ethernet_short_or_cut_in_a_tag():
    assert frames.ethernet(b"\xff" * 13) is None
    eth = frames.ethernet(MAC_B + MAC_A + b"\x81\x00\x00")  # the tag does not fit: left as the ethertype
    assert eth.ethertype == 0x8100 and eth.tags == () and eth.payload == b"\x00"


def test_arp_request():
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + socket.inet_aton("10.0.0.1")
    body += b"\0" * 6 + socket.inet_aton("10.0.0.2")
    a = frames.arp(body)
    assert a.is_ipv4 and a.op == 1 and a.sha == MAC_A and (a.sender_ip, a.target_ip) == ("10.0.0.1", "10.0.0.2")
    assert frames.arp(body[:27]) is None and frames.arp(b"\0" * 7) is None
    other = frames.arp(struct.pack("!HHBBH", 1, 0x86DD, 6, 16, 1) + b"\0" * 44)
    assert other is not None and not other.is_ipv4


def test_ipv4_header_options_fragments_and_padding():
    ip = frames.ipv4(ipv4("10.0.0.1", "10.0.0.2", 17, b"udp-data", options=b"\x01\x01\x01\x00") + b"\0" * 6)
    assert (ip.src, ip.dst, ip.proto, ip.ttl, ip.header_len) == ("10.0.0.1", "10.0.0.2", 17, 61, 24)
    assert ip.payload == b"udp-data"  # Ethernet padding after total_len is not payload
    assert not ip.more_fragments and ip.fragment_offset == 0
    first = frames.ipv4(ipv4("10.0.0.1", "10.0.0.2", 17, b"x", frag=0x2000))
    later = frames.ipv4(ipv4("10.0.0.1", "10.0.0.2", 17, b"x", frag=185))
    assert first.more_fragments and first.fragment_offset == 0 and later.fragment_offset == 1480


def test_ipv4_cut_by_the_snap_length_or_not_ipv4():
    whole = ipv4("10.0.0.1", "10.0.0.2", 1, b"\0" * 100)
    assert frames.ipv4(whole[:60]).payload == b"\0" * 40  # as much as is there
    assert frames.ipv4(whole[:19]) is None
    assert frames.ipv4(b"\x65" + whole[1:]) is None  # version 6 in an IPv4 header
    assert frames.ipv4(b"\x44" + whole[1:]) is None  # header length under 20
    tso = bytearray(whole)
    tso[2:4] = b"\0\0"  # total length 0 (a segmentation-offloaded capture): everything after the header
    assert len(frames.ipv4(bytes(tso)).payload) == 100


def test_ipv6_walks_extension_headers():
    icmp6 = struct.pack("!BBHHH", 128, 0, 0, 5, 9)
    hop_by_hop = bytes([60, 0]) + b"\0" * 6
    dest_opts = bytes([58, 1]) + b"\0" * 14  # 16 bytes
    ip = frames.ipv6(ipv6(0, hop_by_hop + dest_opts + icmp6))
    assert (ip.src, ip.dst, ip.hop_limit) == ("fe80::1", "ff02::1", 255)
    assert ip.extensions == [0, 60] and ip.next_header == 58 and ip.payload == icmp6 and not ip.truncated


def test_ipv6_fragment_header_and_cut_extension():
    frag = bytes([17, 0]) + struct.pack("!HI", (185 << 3) | 1, 0xABCD)
    ip = frames.ipv6(ipv6(44, frag + b"data"))
    assert ip.next_header == 17 and ip.fragment_offset == 1480 and ip.payload == b"data"
    cut = frames.ipv6(ipv6(44, frag)[:44])
    assert cut.truncated and cut.next_header == 44 and cut.payload == b""
    long_ext = frames.ipv6(ipv6(60, bytes([17, 3]) + b"\0" * 6))  # claims 32 bytes, has 8
    assert long_ext.truncated
    assert frames.ipv6(ipv6(58, b"")[:39]) is None
    assert frames.ipv6(b"\x40" + ipv6(58, b"")[1:]) is None


def test_icmp_echo_and_errors():
    echo = frames.icmp(struct.pack("!BBHHH", 0, 0, 0, 0x1234, 7) + b"data")
    assert (echo.type, echo.code, echo.ident, echo.seq, echo.payload) == (0, 0, 0x1234, 7, b"data")
    frag_needed = frames.icmp(struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + b"quoted")
    assert frag_needed.next_hop_mtu == 1400 and frag_needed.payload == b"quoted"
    assert frames.icmp(b"\0" * 7) is None


def test_udp_and_tcp():
    u = frames.udp(struct.pack("!HHHH", 68, 67, 8 + 3, 0) + b"abc" + b"pad")
    assert (u.sport, u.dport, u.length, u.payload) == (68, 67, 11, b"abc")
    assert frames.udp(b"\0" * 5) is None and frames.udp(struct.pack("!HHH", 1, 2, 8)).payload == b""
    t = frames.tcp(struct.pack("!HHIIBBHHH", 43210, 22, 1000, 2000, 6 << 4, 0x12, 64240, 0, 0) + b"\0" * 4 + b"hi")
    assert (t.sport, t.dport, t.seq, t.ack, t.header_len, t.payload) == (43210, 22, 1000, 2000, 24, b"hi")
    assert t.flag_letters() == "SA" and frames.tcp(b"\0" * 13) is None
    assert frames.tcp(struct.pack("!HHIIBB", 1, 2, 3, 4, 5 << 4, 0x02)).payload == b""  # cut after the flags
    assert frames.tcp(b"\0" * 20).flag_letters() == "."


def test_dhcp_options_and_vxlan_around_a_discover():
    disc = discover("fa:16:3e:00:00:0b", 0x1234ABCD)
    eth = frames.ethernet(disc)
    ip = frames.ipv4(eth.payload)
    assert checksum(eth.payload[:20]) == 0  # a valid header sums to zero
    u = frames.udp(ip.payload)
    d = bootp.dhcp(u.payload)
    assert (d.op, d.xid, d.chaddr, d.yiaddr, d.message_type, d.server_id) == (1, 0x1234ABCD, MAC_B, "0.0.0.0", 1, None)
    assert d.options[61] == b"\x01" + MAC_B  # client identifier
    vx = frames.vxlan(b"\x08\0\0\0" + (5001).to_bytes(3, "big") + b"\0" + disc)
    assert vx.vni == 5001 and vx.inner == disc
    assert frames.vxlan(b"\x08" + b"\0" * 20) is None


def test_dhcp_refuses_what_is_not_dhcp_and_reads_options_defensively():
    msg_bytes = bytearray(240)
    assert bootp.dhcp(bytes(msg_bytes)) is None  # no magic cookie
    msg_bytes[236:240] = bootp.DHCP_MAGIC
    msg = bootp.dhcp(bytes(msg_bytes) + bytes([0, 0, 53, 1, 2, 54, 4, 10, 0, 0, 2, 53, 1, 5, 255, 53, 1, 6]))
    assert msg.message_type == 2 and msg.server_id == "10.0.0.2"  # pads skipped, first wins, END ends
    cut = bootp.dhcp(bytes(msg_bytes) + bytes([54, 4, 10, 0]))  # option cut short
    assert cut.server_id is None and cut.message_type is None
    assert bootp.dhcp(bytes(msg_bytes) + bytes([53])).options == {}
