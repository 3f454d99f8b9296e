"""The VM's own packet, hop by hop: which captured frames are the probe's request and its reply, and where
each stops. Pure: frames are decoded with wire/frames.py (Ethernet, 802.1Q, IPv4, ICMP, TCP, VXLAN, Geneve).

A hop expects the request (VM -> destination) and/or the reply; the request's hops are in path order and
the reply's are the same in reverse. The verdict names the last hop that saw each and the first that did
not. ICMP errors about the probe (unreachable, time exceeded) seen on a hop are named too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...wire import frames
from ...wire.pcap import LINKTYPE_ETHERNET
from ...wire.vmprobe import MARKER

Seen = Literal["request", "reply", "icmp-error"]


@dataclass(frozen=True)
class ProbeId:
    """What makes a frame the probe's: the echo payload's token, or the TCP SYN's sequence number."""

    protocol: str  # icmp | tcp
    token: str
    port: int | None = None

    @property
    def marker(self) -> bytes:
        return MARKER + self.token.encode()

    @property
    def seq(self) -> int:
        return int(self.token[:8], 16)


@dataclass
class PathHop:
    node: str
    name: str  # vm-tap, qvb, qvo, compute-uplink, network-uplink, qr, qg, external
    interface: str
    netns: str | None = None
    request: bool = True  # expected on the request's path
    reply: bool = True  # expected on the reply's path
    seen_request: int = 0
    seen_reply: int = 0
    icmp_errors: list[str] = field(default_factory=list)
    error: str | None = None  # the capture could not run here
    # the node's tunnel endpoint addresses (an uplink's): a tunnel packet neither from nor to one of them was
    # on its way between two other nodes (the underlay switch floods a unicast it has not learnt to every port)
    endpoints: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.node}/{self.name} ({self.interface})"


def classify(
    data: bytes,
    probe: ProbeId,
    linktype: int = LINKTYPE_ETHERNET,
    _depth: int = 0,
    endpoints: frozenset[str] = frozenset(),
) -> tuple[Seen, str] | None:
    """(what the frame is, a short text) when it is the probe's request, reply or an ICMP error about it."""
    if linktype != LINKTYPE_ETHERNET:
        return None
    eth = frames.ethernet(data)
    if eth is None or eth.ethertype != frames.ETH_IPV4:
        return None
    ip = frames.ipv4(eth.payload)
    if ip is None:
        return None
    if ip.proto == frames.IPPROTO_UDP and _depth == 0:
        if endpoints and ip.src not in endpoints and ip.dst not in endpoints:
            return None  # another pair's tunnel packet, flooded to this node's port
        udp = frames.udp(ip.payload)
        if udp is not None and udp.dport in frames.VXLAN_PORTS:  # 4789, or the Linux kernel's 8472
            vx = frames.vxlan(udp.payload)
            return classify(vx.inner, probe, linktype, 1) if vx is not None else None
        if udp is not None and udp.dport == frames.GENEVE_PORT:
            gn = frames.geneve(udp.payload)
            return classify(gn.inner, probe, linktype, 1) if gn is not None and gn.protocol == 0x6558 else None
        return None
    where = f"{ip.src} -> {ip.dst}"
    if ip.proto == frames.IPPROTO_ICMP:
        msg = frames.icmp(ip.payload)
        if msg is None:
            return None
        if msg.type in (3, 11) and _quotes_probe(msg.payload, probe):
            kind = "unreachable" if msg.type == 3 else "time exceeded"
            return "icmp-error", f"ICMP {kind} (code {msg.code}) from {ip.src}"
        if probe.protocol == "icmp" and probe.marker in msg.payload:
            if msg.type == 8:
                return "request", where
            if msg.type == 0:
                return "reply", where
        return None
    if ip.proto == frames.IPPROTO_TCP and probe.protocol == "tcp":
        seg = frames.tcp(ip.payload)
        if seg is None:
            return None
        if seg.flags & 0x02 and not seg.flags & 0x10 and seg.seq == probe.seq:
            return "request", where
        if seg.flags & 0x10 and seg.ack == (probe.seq + 1) & 0xFFFFFFFF:
            return "reply", f"{where} {seg.flag_letters()}"
    return None


def _quotes_probe(quoted: bytes, probe: ProbeId) -> bool:
    """Whether an ICMP error's quoted datagram is the probe."""
    ip = frames.ipv4(quoted)
    if ip is None:
        return False
    if probe.protocol == "icmp":
        return ip.proto == frames.IPPROTO_ICMP and probe.marker in ip.payload
    seg = frames.tcp(ip.payload) if len(ip.payload) >= 14 else None
    if seg is None and len(ip.payload) >= 8:  # only 8 bytes quoted: ports and sequence number
        return ip.proto == frames.IPPROTO_TCP and int.from_bytes(ip.payload[4:8], "big") == probe.seq
    return ip.proto == frames.IPPROTO_TCP and seg is not None and seg.seq == probe.seq


def tally(hop: PathHop, packets: list[tuple[int, bytes]], probe: ProbeId) -> None:
    """Count the probe's frames among a hop's captured (linktype, data)."""
    for linktype, data in packets:
        got = classify(data, probe, linktype, endpoints=hop.endpoints)
        if got is None:
            continue
        kind, text = got
        if kind == "request":
            hop.seen_request += 1
        elif kind == "reply":
            hop.seen_reply += 1
        elif text not in hop.icmp_errors:
            hop.icmp_errors.append(text)


@dataclass
class PathVerdict:
    ok: bool
    proven: bool  # every capture ran: a silence means what it says
    reason: str
    last_request: PathHop | None = None  # the last hop (in path order) that saw the request
    lost_request: PathHop | None = None  # the first that did not
    last_reply: PathHop | None = None
    lost_reply: PathHop | None = None


def judge(hops: list[PathHop], injected: int, destination: str) -> PathVerdict:
    """Where the request and the reply stop, or that both went all the way."""
    broken = [h for h in hops if h.error]
    forward = [h for h in hops if h.request]
    back = [h for h in hops if h.reply][::-1]
    if injected == 0:
        return PathVerdict(False, False, "the probe was not injected")
    last = lost = None
    for h in forward:
        if h.error:
            continue
        if h.seen_request:
            last = h
        elif lost is None:
            lost = h
        if lost is not None and h.seen_request:  # seen again after a silent hop: that capture missed it
            lost = None
    v = PathVerdict(False, not broken, "", last, lost)
    if lost is not None:
        after = last.label if last else "the injection"
        v.reason = f"the request to {destination} stops after {after}: not seen on {lost.label}"
        return v
    rlast = rlost = None
    for h in back:
        if h.error:
            continue
        if h.seen_reply:
            rlast = h
        elif rlost is None:
            rlost = h
        if rlost is not None and h.seen_reply:
            rlost = None
    v.last_reply, v.lost_reply = rlast, rlost
    if rlast is None:
        where = last.label if last else "the last hop"
        v.reason = f"the request to {destination} reached {where}; no reply came back"
        return v
    if rlost is not None:
        v.reason = f"the reply from {destination} stops after {rlast.label}: not seen on {rlost.label}"
        return v
    if broken:
        v.reason = (
            f"the request reached {destination} and the reply came back, but no capture on "
            f"{', '.join(h.label for h in broken)}"
        )
        v.ok = True
        return v
    v.ok = True
    v.reason = f"the VM's own packet to {destination} crossed every hop and its reply came back to the VM"
    return v
