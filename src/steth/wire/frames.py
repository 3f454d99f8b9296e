"""Frame decoding, written once: Ethernet with 802.1Q/802.1ad tags, ARP, IPv4, IPv6 (extension headers),
ICMP and ICMPv6, UDP, TCP, VXLAN, Geneve, BOOTP/DHCP.

The agent decodes with it (VLAN probe listener, DHCP capture, ICMP replies) and so does the
controller (capture summaries), hence its place in wire/, which imports nothing else of steth.

Each decoder takes the bytes of its layer and returns a small record whose ``payload`` is the next
layer, or None when the bytes are too short for the header or are not that protocol. Nothing raises
on odd input: a truncated capture is decoded as far as it goes.

A receiving Linux kernel moves the outermost 802.1Q tag out of the frame into packet metadata
(PACKET_AUXDATA on a packet socket): pass it to ``ethernet(frame, stripped_tci=...)`` and it is
put back in front of the tags still in band.

Why not dpkt (BSD, the library DESIGN.md names where it fits), measured on this machine
(benchmarks/frame_decode.py prints the figures): importing any dpkt module imports all 74 of its
protocol modules, +6 MB and 50 ms on an idle machine, 0.3-0.45 s while labs run, against the
agent's budget of 0.5 s from exec to ready and 50 MB; ``Ethernet(frame)`` decodes every layer
eagerly (5-16 us a probe frame), where the VLAN listener, which decodes every frame of a 4094-VLAN
sweep, needs the Ethernet header only (2-4 us a probe frame here, the Probe record included); and
dpkt has no type hints, where wire/ is checked with mypy --strict. The protocols steth reads are
few and their headers fixed, so this module is the one place they are decoded.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_8021Q = 0x8100
ETH_IPV6 = 0x86DD
ETH_8021AD = 0x88A8
ETH_LLDP = 0x88CC
ETH_QINQ_OLD = 0x9100
TAG_TPIDS = frozenset({ETH_8021Q, ETH_8021AD, ETH_QINQ_OLD})

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPV6_FRAGMENT = 44
IPV6_AH = 51
IPV6_EXTENSIONS = frozenset({0, 43, IPV6_FRAGMENT, IPV6_AH, 60})  # hop-by-hop, routing, fragment, AH, dest opts
MAX_IPV6_EXTENSIONS = 8

VXLAN_PORT = 4789
# IANA's, and the Linux kernel's default (the linuxbridge agent keeps it unless [vxlan] udp_dstport is set)
VXLAN_PORTS = frozenset({VXLAN_PORT, 8472})
GENEVE_PORT = 6081  # IANA's; OVN's tunnels

_HH = struct.Struct("!HH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_ICMP = struct.Struct("!BBHI")
_UDP = struct.Struct("!HHH")  # ports and length: the checksum is not read
_TCP = struct.Struct("!HHIIBB")  # up to the flags: the window and what follows are not read
_ARP = struct.Struct("!HHBBH")


def mac_text(raw: bytes) -> str:
    """``b"\\x02\\0\\0\\0\\0\\x01"`` -> ``"02:00:00:00:00:01"``."""
    return ":".join(f"{b:02x}" for b in raw)


def mac_bytes(text: str) -> bytes:
    """``"02:00:00:00:00:01"`` -> 6 bytes; ValueError names what is wrong."""
    parts = text.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"{text!r} is not a MAC address (six hex bytes separated by ':')")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not a MAC address (six hex bytes separated by ':')") from None


# ---- link layer -------------------------------------------------------------------


@dataclass(slots=True)
class Ethernet:
    dst: bytes
    src: bytes
    tags: tuple[int, ...]  # 802.1Q/802.1ad TCIs, outermost first (the one the kernel stripped included)
    ethertype: int  # of the payload; at most 1500 it is an 802.3 length (LLC follows)
    payload: bytes

    @property
    def vlans(self) -> list[int]:
        """VLAN ids of the tags, outermost first."""
        return [tci & 0x0FFF for tci in self.tags]


def link_header(frame: bytes) -> tuple[int, int, tuple[int, ...]] | None:
    """(ethertype, offset of the payload, TCIs in band) without building a record: the hot path of the
    VLAN listener, which decodes every frame of a sweep. None under 14 bytes."""
    if len(frame) < 14:
        return None
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype not in TAG_TPIDS:
        return ethertype, 14, ()
    pos = 14
    tags: tuple[int, ...] = ()
    while ethertype in TAG_TPIDS and len(frame) >= pos + 4:
        tci, ethertype = _HH.unpack_from(frame, pos)
        tags += (tci,)
        pos += 4
    return ethertype, pos, tags


def ethernet(frame: bytes, stripped_tci: int | None = None) -> Ethernet | None:
    """The Ethernet header and every tag in band; ``stripped_tci``: the tag the kernel moved to metadata."""
    head = link_header(frame)
    if head is None:
        return None
    ethertype, pos, tags = head
    if stripped_tci is not None:
        tags = (stripped_tci, *tags)
    return Ethernet(frame[0:6], frame[6:12], tags, ethertype, frame[pos:])


@dataclass(slots=True)
class Arp:
    htype: int
    ptype: int
    op: int  # 1 request, 2 reply
    sha: bytes
    spa: bytes
    tha: bytes
    tpa: bytes

    @property
    def is_ipv4(self) -> bool:
        return self.ptype == ETH_IPV4 and len(self.spa) == 4

    @property
    def sender_ip(self) -> str:
        return socket.inet_ntoa(self.spa)

    @property
    def target_ip(self) -> str:
        return socket.inet_ntoa(self.tpa)


def arp(data: bytes) -> Arp | None:
    if len(data) < 8:
        return None
    htype, ptype, hlen, plen, op = _ARP.unpack_from(data)
    end = 8 + 2 * (hlen + plen)
    if len(data) < end:
        return None
    sha = data[8 : 8 + hlen]
    spa = data[8 + hlen : 8 + hlen + plen]
    tha = data[8 + hlen + plen : 8 + 2 * hlen + plen]
    tpa = data[8 + 2 * hlen + plen : end]
    return Arp(htype, ptype, op, sha, spa, tha, tpa)


# ---- network layer ----------------------------------------------------------------


@dataclass(slots=True)
class IPv4:
    saddr: bytes  # 4 bytes; ``src`` is the text
    daddr: bytes
    proto: int
    ttl: int
    header_len: int
    total_len: int
    flags_frag: int  # flags (3 bits) and fragment offset (13 bits, in 8-byte units)
    payload: bytes  # up to total_len, or as much as is there

    @property
    def src(self) -> str:
        return socket.inet_ntoa(self.saddr)

    @property
    def dst(self) -> str:
        return socket.inet_ntoa(self.daddr)

    @property
    def fragment_offset(self) -> int:
        """Offset of this fragment in bytes (0: the first fragment or a whole datagram)."""
        return (self.flags_frag & 0x1FFF) * 8

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags_frag & 0x2000)


def ipv4(data: bytes) -> IPv4 | None:
    """An IPv4 header; None when shorter than 20 bytes, not version 4, or its header length is odd."""
    if len(data) < 20:
        return None
    vihl, _tos, total, _ident, flags_frag, ttl, proto, _csum, src, dst = _IPV4.unpack_from(data)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20:
        return None
    end = total if total >= ihl else len(data)  # 0 on a segmentation-offloaded capture: take it all
    return IPv4(src, dst, proto, ttl, ihl, total, flags_frag, data[ihl:end])


@dataclass(slots=True)
class IPv6:
    src: str
    dst: str
    next_header: int  # after the extension headers walked
    hop_limit: int
    payload_len: int
    payload: bytes  # after the extension headers, up to payload_len or as much as is there
    fragment_offset: int = 0  # in bytes, from a fragment header
    truncated: bool = False  # cut in or right after the extension headers: next_header names what is cut, no payload
    extensions: list[int] = field(default_factory=list)


def ipv6(data: bytes) -> IPv6 | None:
    """An IPv6 header and its extension headers (at most MAX_IPV6_EXTENSIONS); None under 40 bytes."""
    if len(data) < 40:
        return None
    vtcfl, plen, nxt, hlim, src, dst = _IPV6.unpack_from(data)
    if vtcfl >> 28 != 6:
        return None
    rest = data[40 : 40 + plen] if plen else data[40:]
    ip = IPv6(socket.inet_ntop(socket.AF_INET6, src), socket.inet_ntop(socket.AF_INET6, dst), nxt, hlim, plen, b"")
    pos = 0
    for _ in range(MAX_IPV6_EXTENSIONS):
        if nxt not in IPV6_EXTENSIONS:
            break
        if len(rest) < pos + (8 if nxt == IPV6_FRAGMENT else 2):
            ip.next_header, ip.truncated = nxt, True
            return ip
        ip.extensions.append(nxt)
        if nxt == IPV6_FRAGMENT:
            ip.fragment_offset = ((rest[pos + 2] << 8) | rest[pos + 3]) & 0xFFF8
            nxt, size = rest[pos], 8
        elif nxt == IPV6_AH:
            nxt, size = rest[pos], (rest[pos + 1] + 2) * 4
        else:
            nxt, size = rest[pos], (rest[pos + 1] + 1) * 8
        pos += size
    if pos > len(rest):  # the last extension header claims more than is there: what follows is cut
        ip.next_header, ip.truncated = nxt, True
        return ip
    ip.next_header, ip.payload = nxt, rest[pos:]
    return ip


# ---- transport layer --------------------------------------------------------------


@dataclass(slots=True)
class Icmp:
    """ICMP or ICMPv6: the same first 8 bytes; ``rest`` is the type-specific word (bytes 4-7)."""

    type: int
    code: int
    rest: int
    payload: bytes  # after the 8-byte header: echo data, or the start of the datagram an error is about

    @property
    def ident(self) -> int:
        """Echo identifier."""
        return self.rest >> 16

    @property
    def seq(self) -> int:
        """Echo sequence number."""
        return self.rest & 0xFFFF

    @property
    def next_hop_mtu(self) -> int:
        """IPv4 "fragmentation needed" (type 3 code 4): the next hop's MTU."""
        return self.rest & 0xFFFF


def icmp(data: bytes) -> Icmp | None:
    if len(data) < 8:
        return None
    kind, code, _csum, rest = _ICMP.unpack_from(data)
    return Icmp(kind, code, rest, data[8:])


@dataclass(slots=True)
class Udp:
    sport: int
    dport: int
    length: int  # header and data, from the header
    payload: bytes


def udp(data: bytes) -> Udp | None:
    """None under the 6 bytes it reads (ports, length): a snap length may cut the checksum."""
    if len(data) < 6:
        return None
    sport, dport, length = _UDP.unpack_from(data)
    return Udp(sport, dport, length, data[8:length] if length >= 8 else data[8:])


@dataclass(slots=True)
class Tcp:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int  # FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80
    header_len: int
    payload: bytes

    ACK = 0x10

    def flag_letters(self) -> str:
        """tcpdump's style: S, F, R, P, A, U, E, C in bit order; "." for none."""
        return "".join(c for i, c in enumerate("FSRPAUEC") if self.flags & (1 << i)) or "."


def tcp(data: bytes) -> Tcp | None:
    """None under the 14 bytes it reads (ports, sequence, acknowledgement, header length, flags)."""
    if len(data) < 14:
        return None
    sport, dport, seq, ack, offset, flags = _TCP.unpack_from(data)
    hlen = (offset >> 4) * 4
    return Tcp(sport, dport, seq, ack, flags, hlen, data[hlen:] if hlen >= 20 else b"")


# ---- tunnels ----------------------------------------------------------------------------


@dataclass(slots=True)
class Vxlan:
    vni: int
    inner: bytes  # the encapsulated Ethernet frame


def vxlan(data: bytes) -> Vxlan | None:
    """A VXLAN header (8 bytes) and an inner frame of at least an Ethernet header."""
    if len(data) < 8 + 14:
        return None
    return Vxlan(int.from_bytes(data[4:7], "big"), data[8:])


@dataclass(slots=True)
class Geneve:
    vni: int
    protocol: int  # of the inner frame: 0x6558 (Ethernet, OVN's) ...
    options: bytes  # opt_len * 4 bytes of TLVs (OVN sends one of 8: class 0x0102, the logical ports)
    inner: bytes  # after the options: an Ethernet frame when protocol is 0x6558

    @property
    def overhead(self) -> int:
        """Bytes it adds before the inner frame: the 8-byte header and its options."""
        return 8 + len(self.options)


def geneve(data: bytes) -> Geneve | None:
    """A Geneve header (RFC 8926: version 0, opt_len in 4-byte words) with its options, and what follows."""
    if len(data) < 8 or data[0] >> 6 != 0:
        return None
    end = 8 + (data[0] & 0x3F) * 4
    if len(data) < end:
        return None
    return Geneve(int.from_bytes(data[4:7], "big"), (data[2] << 8) | data[3], data[8:end], data[end:])
