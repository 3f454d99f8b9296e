"""One-line summaries of captured frames: Ethernet, 802.1Q/802.1ad, ARP, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP.

Only the fields an operator reads on a terminal; anything else is named by
its ethertype or protocol number. Truncated frames (snap length) are decoded
as far as they go. The headers are decoded by wire/frames.py, shared with the agent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..wire import frames
from ..wire.pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, Packet

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


def summarize(linktype: int, data: bytes) -> Summary:
    """Decode as much of one frame as is there; never raises on short or odd frames."""
    s = Summary()
    if linktype == LINKTYPE_ETHERNET:
        _ethernet(data, s)
    elif linktype in (LINKTYPE_RAW, 12, 14):
        _ip_any(data, s)
    elif linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
        _ethertype((data[14] << 8) | data[15], data[16:], s)
    elif linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        _ethertype((data[0] << 8) | data[1], data[20:], s)
    else:
        s.proto = f"linktype {linktype}"
    return s


def _truncated(s: Summary) -> None:
    s.info = (s.info + " [truncated]").strip()


def _ethernet(data: bytes, s: Summary) -> None:
    eth = frames.ethernet(data)
    if eth is None:
        s.proto, s.info = "ETH", "[truncated]"
        return
    s.src, s.dst = frames.mac_text(eth.src), frames.mac_text(eth.dst)
    s.vlans = eth.vlans
    if eth.ethertype <= 1500:  # 802.3 length field: LLC (STP and friends)
        s.proto = "LLC"
        s.info = "STP" if eth.payload[:2] == b"\x42\x42" else f"length {eth.ethertype}"
        return
    _ethertype(eth.ethertype, eth.payload, s)


def _ethertype(etype: int, payload: bytes, s: Summary) -> None:
    if etype == frames.ETH_IPV4:
        _ipv4(payload, s)
    elif etype == frames.ETH_IPV6:
        _ipv6(payload, s)
    elif etype == frames.ETH_ARP:
        _arp(payload, s)
    elif etype == frames.ETH_LLDP:
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
    a = frames.arp(p)
    if a is None:
        _truncated(s)
        return
    if not a.is_ipv4:
        s.info = f"op {a.op}"
        return
    s.src, s.dst = a.sender_ip, a.target_ip
    if a.op == 1:
        s.info = f"who-has {s.dst} tell {s.src}"
    elif a.op == 2:
        s.info = f"{s.src} is-at {frames.mac_text(a.sha)}"
    else:
        s.info = f"op {a.op}"


def _ipv4(p: bytes, s: Summary) -> None:
    s.proto = "IPv4"
    ip = frames.ipv4(p)
    if ip is None:
        s.info = "[truncated]" if len(p) < 20 else "[bad header]"
        return
    s.src, s.dst = ip.src, ip.dst
    if ip.fragment_offset:  # a later fragment: no transport header
        s.proto, s.info = _IP_PROTOS.get(ip.proto, f"ip-proto {ip.proto}"), f"fragment offset {ip.fragment_offset}"
        return
    _transport(ip.proto, ip.payload, s, v6=False)
    if ip.more_fragments:
        s.info = (s.info + " (first fragment)").strip()


def _ipv6(p: bytes, s: Summary) -> None:
    s.proto = "IPv6"
    ip = frames.ipv6(p)
    if ip is None:
        s.info = "[truncated]" if len(p) < 40 else "[bad header]"
        return
    s.src, s.dst = ip.src, ip.dst
    if ip.truncated:
        if ip.next_header not in frames.IPV6_EXTENSIONS:  # cut right after the extension headers
            s.proto = _IP_PROTOS.get(ip.next_header, f"ip-proto {ip.next_header}")
        _truncated(s)
    elif ip.fragment_offset:
        nxt = ip.next_header
        s.proto, s.info = _IP_PROTOS.get(nxt, f"ip-proto {nxt}"), f"fragment offset {ip.fragment_offset}"
    else:
        _transport(ip.next_header, ip.payload, s, v6=True)


def _transport(proto: int, p: bytes, s: Summary, v6: bool) -> None:
    s.proto = _IP_PROTOS.get(proto, f"ip-proto {proto}")
    if proto == frames.IPPROTO_ICMP and not v6 or proto == frames.IPPROTO_ICMPV6 and v6:
        m = frames.icmp(p)
        if m is None:
            _truncated(s)
            return
        names = _ICMP6 if v6 else _ICMP4
        s.info = names.get(m.type, f"type {m.type} code {m.code}")
        if m.type in ((128, 129) if v6 else (0, 8)):
            s.info += f" id {m.ident} seq {m.seq}"
        elif not v6 and m.type == 3:
            s.info += f" {_ICMP4_UNREACH.get(m.code, f'code {m.code}')}"
    elif proto == frames.IPPROTO_TCP:
        t = frames.tcp(p)
        if t is None:
            _truncated(s)
            return
        s.src, s.dst = _port(s.src, t.sport, v6), _port(s.dst, t.dport, v6)
        s.info = f"flags [{t.flag_letters()}] seq {t.seq}" + (f" ack {t.ack}" if t.flags & t.ACK else "")
    elif proto == frames.IPPROTO_UDP:
        u = frames.udp(p)
        if u is None:
            _truncated(s)
            return
        s.src, s.dst = _port(s.src, u.sport, v6), _port(s.dst, u.dport, v6)
        s.info = f"length {max(u.length - 8, 0)}"


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
