"""Raw AF_PACKET capture and injection, in any network namespace, and a DHCP frame codec.

Sockets are opened inside a namespace from a short-lived thread that enters it
(setns is per thread); a socket keeps its namespace afterwards. Frames are decoded
by wire/frames.py (Ethernet, 802.1Q, IPv4, UDP, VXLAN, BOOTP/DHCP): no scapy import.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from ..errors import CapabilityMissing, HostError
from ..wire import bootp, frames
from . import netns as netns_mod
from .inet import checksum as _checksum

ETH_P_ALL = 0x0003
MESSAGE_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM"}
MAX_FRAMES = 20000  # per capture: bounds memory and time on a busy interface


def packet_socket(ifname: str, netns: str | None = None) -> socket.socket:
    """An AF_PACKET socket bound to ``ifname`` (in ``netns``), non-blocking."""

    def opener() -> socket.socket:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.bind((ifname, 0))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        return s

    try:
        return netns_mod.call_in(netns, opener)
    except PermissionError as exc:
        raise CapabilityMissing(f"raw packet sockets need CAP_NET_RAW: {exc}") from exc
    except FileNotFoundError as exc:
        raise HostError(f"network namespace {netns} does not exist") from exc
    except OSError as exc:
        where = f" in namespace {netns}" if netns else ""
        raise HostError(f"cannot open a packet socket on {ifname}{where}: {exc.strerror or exc}") from exc


@dataclass
class DhcpFrame:
    message: str  # DISCOVER, OFFER, ...
    xid: int
    client_mac: str
    src_mac: str
    dst_mac: str
    src_ip: str
    dst_ip: str
    server_id: str | None
    your_ip: str | None
    vlan: int | None  # when the tag is still in the frame
    vni: int | None  # when seen VXLAN-encapsulated
    outgoing: bool
    time: float


def parse(frame: bytes, outgoing: bool = False, now: float = 0.0, _vni: int | None = None) -> DhcpFrame | None:
    """A DHCP message in an Ethernet frame (optionally 802.1Q-tagged or VXLAN-encapsulated), else None."""
    head = frames.link_header(frame)  # most frames of a busy interface end here or at the next test
    if head is None or head[0] != frames.ETH_IPV4:
        return None
    ethertype, offset, tags = head
    ip = frames.ipv4(frame[offset:])
    if ip is None or ip.proto != frames.IPPROTO_UDP:
        return None
    udp = frames.udp(ip.payload)
    if udp is None:
        return None
    if udp.dport in frames.VXLAN_PORTS and _vni is None:
        vx = frames.vxlan(udp.payload)
        if vx is not None:
            return parse(vx.inner, outgoing, now, _vni=vx.vni)
    if {udp.sport, udp.dport} - {bootp.DHCP_SERVER_PORT, bootp.DHCP_CLIENT_PORT}:
        return None
    msg = bootp.dhcp(udp.payload)
    mtype = msg.message_type if msg is not None else None
    if msg is None or mtype is None:
        return None
    return DhcpFrame(
        message=MESSAGE_TYPES.get(mtype, str(mtype)),
        xid=msg.xid,
        client_mac=frames.mac_text(msg.chaddr),
        src_mac=frames.mac_text(frame[6:12]),
        dst_mac=frames.mac_text(frame[0:6]),
        src_ip=ip.src,
        dst_ip=ip.dst,
        server_id=msg.server_id,
        your_ip=None if msg.yiaddr == "0.0.0.0" else msg.yiaddr,
        vlan=tags[0] & 0x0FFF if tags else None,
        vni=_vni,
        outgoing=outgoing,
        time=now,
    )


def tunnel_endpoints(frame: bytes) -> tuple[str, str] | None:
    """The outer (source, destination) IPv4 addresses of a VXLAN-encapsulated frame, else None."""
    head = frames.link_header(frame)
    if head is None or head[0] != frames.ETH_IPV4:
        return None
    ip = frames.ipv4(frame[head[1] :])
    if ip is None or ip.proto != frames.IPPROTO_UDP:
        return None
    udp = frames.udp(ip.payload)
    return (ip.src, ip.dst) if udp is not None and udp.dport in frames.VXLAN_PORTS else None


def discover(mac: str, xid: int) -> bytes:
    """A broadcast DHCPDISCOVER from ``mac`` as a complete Ethernet frame (checksums filled in)."""
    hw = frames.mac_bytes(mac)
    fixed = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,
        1,
        6,
        0,
        xid,
        0,
        0x8000,
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        hw + b"\0" * 10,
        b"\0" * 64,
        b"\0" * 128,
    )
    options = bootp.DHCP_MAGIC + bytes([53, 1, 1, 61, 7, 1]) + hw + bytes([55, 3, 1, 3, 6, 57, 2, 0x05, 0xDC, 255])
    payload = fixed + options + b"\0" * max(0, 300 - len(fixed) - len(options))
    src, dst = b"\0" * 4, b"\xff" * 4
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 68, 67, udp_len, 0) + payload
    csum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\xff" * 6 + hw + b"\x08\x00" + ip + udp


class Capture:
    """DHCP messages seen on one interface between start() and stop() (a background thread).

    ``local``: this node's IPv4 addresses. A tunnel packet from and to other nodes is not counted: the
    underlay switch floods a unicast it has not learnt (or aged out) to every port, so a node's uplink
    can carry another pair's VXLAN packet, which would read as the DHCP message reaching this node.
    """

    def __init__(self, ifname: str, netns: str | None = None, local: frozenset[str] | None = None) -> None:
        self.ifname = ifname
        self.netns = netns
        self.local = local
        self.transit = 0  # tunnel packets between other nodes, not counted
        self.sock = packet_socket(ifname, netns)
        self.frames: list[DhcpFrame] = []
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-{ifname}", daemon=True)

    def start(self) -> Capture:
        self._thread.start()
        return self

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while not self._stop.is_set() and self.seen < MAX_FRAMES:
            if not poller.poll(100):
                continue
            while self.seen < MAX_FRAMES:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    return
                self.seen += 1
                got = parse(data, outgoing=addr[2] == socket.PACKET_OUTGOING, now=time.time())
                if got is None:
                    continue
                ends = tunnel_endpoints(data) if got.vni is not None and self.local else None
                if ends is not None and self.local is not None and not self.local.intersection(ends):
                    self.transit += 1
                    continue
                self.frames.append(got)

    def stop(self) -> list[DhcpFrame]:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        return self.frames


def send(ifname: str, frame: bytes, netns: str | None = None) -> None:
    s = packet_socket(ifname, netns)
    try:
        s.setblocking(True)
        s.send(frame)
    finally:
        s.close()
