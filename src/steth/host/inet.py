"""The Internet checksum (RFC 1071), for the packets steth builds itself (ICMP echo, DHCP over UDP/IPv4)."""

from __future__ import annotations

import struct


def checksum(data: bytes) -> int:
    """One's complement of the one's-complement sum of 16-bit words; a packet carrying it sums to 0."""
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
