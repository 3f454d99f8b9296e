"""The VM's own probe as complete Ethernet frames: an ICMP echo request or a TCP SYN over IPv4, from the
VM's MAC and address to its gateway's MAC (checksums filled in). Built here, never taken from a request."""

from __future__ import annotations

import struct

from ..wire import frames
from .inet import checksum

TTL = 64
TCP_WINDOW = 64240


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, TTL, proto, 0, _a(src), _a(dst))
    return head[:10] + struct.pack("!H", checksum(head)) + head[12:] + payload


def _a(ip: str) -> bytes:
    import socket

    return socket.inet_aton(ip)


def _ether(src_mac: str, dst_mac: str, ip: bytes) -> bytes:
    return frames.mac_bytes(dst_mac) + frames.mac_bytes(src_mac) + b"\x08\x00" + ip


def icmp_echo(src_mac: str, dst_mac: str, src: str, dst: str, ident: int, seq: int, payload: bytes) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return _ether(src_mac, dst_mac, _ipv4(src, dst, frames.IPPROTO_ICMP, body, seq))


def tcp_syn(src_mac: str, dst_mac: str, src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    # options: MSS 1360 (fits any overlay), then padding to a 24-byte header
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 6 << 4, 0x02, TCP_WINDOW, 0, 0) + b"\x02\x04\x05\x50"
    pseudo = _a(src) + _a(dst) + struct.pack("!BBH", 0, frames.IPPROTO_TCP, len(head))
    head = head[:16] + struct.pack("!H", checksum(pseudo + head)) + head[18:]
    return _ether(src_mac, dst_mac, _ipv4(src, dst, frames.IPPROTO_TCP, head, sport))
