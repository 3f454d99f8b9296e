"""One-line summaries of captured frames: Ethernet, 802.1Q/802.1ad, ARP, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP.

Only the fields an operator reads on a terminal; anything else is named by
its ethertype or protocol number. Truncated frames (snap length) are decoded
as far as they go.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from dataclasses import dataclass, field

from ..wire.pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, Packet

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ, ETH_LLDP = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x88CC
_TAGS = (ETH_VLAN, ETH_QINQ, 0x9100)
_IP_PROTOS = {
    1: "ICMP",
    2: "IGMP",
    6: "TCP",
    17: "UDP",
    47: "GRE",
    50: "ESP",
    58: "ICMPv6",
    89: "OSPF",
    112: "VRRP",
    132: "SCTP",
}
_ICMP4 = {
    0: "echo reply",
    3: "unreachable",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
    12: "parameter problem",
}
_ICMP4_UNREACH = {0: "net", 1: "host", 2: "protocol", 3: "port", 4: "need frag", 13: "admin prohibited"}
_ICMP6 = {
    1: "unreachable",
    2: "packet too big",
    3: "time exceeded",
    4: "parameter problem",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
}
_TCP_FLAGS = "FSRPAUEC"
_IPV6_EXT = {0, 43, 44, 51, 60}  # hop-by-hop, routing, fragment, AH, destination options


@dataclass
class Summary:
    src: str = ""
    dst: str = ""
    proto: str = ""
    info: str = ""
    vlans: list[int] = field(default_factory=list)  # outermost first

    @property
    def vlan(self) -> str:
        return ".".join(str(v) for v in self.vlans)


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def summarize(linktype: int, data: bytes) -> Summary:
    """Decode as much of one frame as is there; never raises on short or odd frames."""
    s = Summary()
    try:
        if linktype == LINKTYPE_ETHERNET:
            _ethernet(data, s)
        elif linktype in (LINKTYPE_RAW, 12, 14):
            _ip_any(data, s)
        elif linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
            _ethertype(struct.unpack_from("!H", data, 14)[0], data[16:], s)
        elif linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
            _ethertype(struct.unpack_from("!H", data, 0)[0], data[20:], s)
        else:
            s.proto = f"linktype {linktype}"
    except (struct.error, IndexError, ValueError):
        s.info = (s.info + " [truncated]").strip()
    return s


def _ethernet(data: bytes, s: Summary) -> None:
    if len(data) < 14:
        s.proto, s.info = "ETH", "[truncated]"
        return
    s.src, s.dst = _mac(data[6:12]), _mac(data[0:6])
    etype = struct.unpack_from("!H", data, 12)[0]
    pos = 14
    while etype in _TAGS and len(data) >= pos + 4:
        tci, etype = struct.unpack_from("!HH", data, pos)
        s.vlans.append(tci & 0x0FFF)
        pos += 4
    if etype <= 1500:  # 802.3 length field: LLC (STP and friends)
        s.proto = "LLC"
        s.info = "STP" if data[pos : pos + 2] == b"\x42\x42" else f"length {etype}"
        return
    _ethertype(etype, data[pos:], s)


def _ethertype(etype: int, payload: bytes, s: Summary) -> None:
    if etype == ETH_IPV4:
        _ipv4(payload, s)
    elif etype == ETH_IPV6:
        _ipv6(payload, s)
    elif etype == ETH_ARP:
        _arp(payload, s)
    elif etype == ETH_LLDP:
        s.proto = "LLDP"
    else:
        s.proto = f"ethertype 0x{etype:04x}"


def _ip_any(data: bytes, s: Summary) -> None:
    version = data[0] >> 4 if data else 0
    if version == 4:
        _ipv4(data, s)
    elif version == 6:
        _ipv6(data, s)
    else:
        s.proto = "RAW"


def _arp(p: bytes, s: Summary) -> None:
    s.proto = "ARP"
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", p, 0)
    if ptype != ETH_IPV4 or plen != 4:
        s.info = f"op {op}"
        return
    sha = p[8 : 8 + hlen]
    spa = str(ipaddress.IPv4Address(p[8 + hlen : 12 + hlen]))
    tpa = str(ipaddress.IPv4Address(p[12 + 2 * hlen : 16 + 2 * hlen]))
    s.src, s.dst = spa, tpa
    if op == 1:
        s.info = f"who-has {tpa} tell {spa}"
    elif op == 2:
        s.info = f"{spa} is-at {_mac(sha)}"
    else:
        s.info = f"op {op}"


def _ipv4(p: bytes, s: Summary) -> None:
    s.proto = "IPv4"
    ihl = (p[0] & 0x0F) * 4
    frag = struct.unpack_from("!H", p, 6)[0]
    proto = p[9]
    s.src, s.dst = str(ipaddress.IPv4Address(p[12:16])), str(ipaddress.IPv4Address(p[16:20]))
    if frag & 0x1FFF:  # a later fragment: no transport header
        s.proto, s.info = _IP_PROTOS.get(proto, f"ip-proto {proto}"), f"fragment offset {(frag & 0x1FFF) * 8}"
        return
    _transport(proto, p[ihl:], s, v6=False)
    if frag & 0x2000:
        s.info = (s.info + " (first fragment)").strip()


def _ipv6(p: bytes, s: Summary) -> None:
    s.proto = "IPv6"
    nxt = p[6]
    s.src, s.dst = str(ipaddress.IPv6Address(p[8:24])), str(ipaddress.IPv6Address(p[24:40]))
    pos = 40
    for _ in range(8):  # bounded walk over extension headers
        if nxt not in _IPV6_EXT:
            break
        if nxt == 44:
            nxt, hlen = p[pos], 8
        elif nxt == 51:
            nxt, hlen = p[pos], (p[pos + 1] + 2) * 4
        else:
            nxt, hlen = p[pos], (p[pos + 1] + 1) * 8
        pos += hlen
    _transport(nxt, p[pos:], s, v6=True)


def _transport(proto: int, p: bytes, s: Summary, v6: bool) -> None:
    s.proto = _IP_PROTOS.get(proto, f"ip-proto {proto}")
    if proto == 1 and not v6 or proto == 58 and v6:
        icmp_type, code = p[0], p[1]
        names = _ICMP6 if v6 else _ICMP4
        s.info = names.get(icmp_type, f"type {icmp_type} code {code}")
        if icmp_type in ((128, 129) if v6 else (0, 8)):
            ident, seq = struct.unpack_from("!HH", p, 4)
            s.info += f" id {ident} seq {seq}"
        elif not v6 and icmp_type == 3:
            s.info += f" {_ICMP4_UNREACH.get(code, f'code {code}')}"
    elif proto == 6:
        sport, dport, seq, ack, off_flags = struct.unpack_from("!HHIIH", p, 0)
        flags = "".join(c for i, c in enumerate(_TCP_FLAGS) if off_flags & (1 << i)) or "."
        s.src, s.dst = _port(s.src, sport, v6), _port(s.dst, dport, v6)
        s.info = f"flags [{flags}] seq {seq}" + (f" ack {ack}" if off_flags & 0x10 else "")
    elif proto == 17:
        sport, dport, length = struct.unpack_from("!HHH", p, 0)
        s.src, s.dst = _port(s.src, sport, v6), _port(s.dst, dport, v6)
        s.info = f"length {max(length - 8, 0)}"


def _port(addr: str, port: int, v6: bool) -> str:
    return f"[{addr}]:{port}" if v6 else f"{addr}:{port}"


def format_time(ts_ns: int) -> str:
    """Local wall-clock time with microseconds, like tcpdump."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.localtime(sec)) + f".{ns // 1000:06d}"


def summary_line(p: Packet, where: str) -> str:
    """time, where (node/interface), src > dst, protocol, length, VLAN tag, details."""
    s = summarize(p.linktype, p.data)
    vlan = f" vlan {s.vlan}" if s.vlans else ""
    route = f"{s.src} > {s.dst}" if s.src or s.dst else "-"
    info = f" {s.info}" if s.info else ""
    return f"{format_time(p.ts_ns)} {where} {route} {s.proto or '?'} length {p.orig_len}{vlan}{info}"
