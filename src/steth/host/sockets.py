"""Listening TCP sockets of this network namespace, from /proc/net/tcp and /proc/net/tcp6.

Used to tell when a server we started is accepting connections, and which
ports of a range are already taken, without connecting to anything.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

_LISTEN = "0A"


def _decode(hex_addr: str) -> tuple[str, int]:
    addr, port = hex_addr.split(":")
    raw = bytes.fromhex(addr)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    else:  # four host-order 32-bit words
        words = struct.unpack(">4I", raw)
        ip = socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))
    return ip, int(port, 16)


def listening() -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket (IPv4 and IPv6) in this namespace."""
    found: set[tuple[str, int]] = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN:
                found.add(_decode(fields[1]))
    return found


def is_listening(address: str, port: int, sockets: set[tuple[str, int]] | None = None) -> bool:
    """Whether something accepts TCP on ``address:port`` (a socket bound to it or to the wildcard)."""
    sockets = listening() if sockets is None else sockets
    ip = ipaddress.ip_address(address)
    wildcard = {"0.0.0.0", "::"} if ip.version == 4 else {"::"}
    return any(p == port and (a == str(ip) or a in wildcard) for a, p in sockets)


def ports_in_use(sockets: set[tuple[str, int]] | None = None) -> set[int]:
    return {p for _, p in (listening() if sockets is None else sockets)}
