"""Listening TCP sockets of this network namespace, asked of the kernel over netlink (sock_diag).

Used to tell when a server we started is accepting connections, and which
ports of a range are already taken, without connecting to anything. The kernel
answers with structured records (pyroute2's DiagSocket, inet_diag), filtered to
the LISTEN state on its side: no text of /proc/net/tcp to parse.
"""

from __future__ import annotations

import ipaddress
import socket

from ..errors import HostError

TCP_LISTEN = 10  # the kernel's TCP_LISTEN state (SS_LISTEN in pyroute2)


def listening() -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket (IPv4 and IPv6) in this namespace."""
    return {(a, p) for a, p, _ in listening_inodes()}


def listening_inodes() -> list[tuple[str, int, int]]:
    """(address, port, socket inode) of every listening TCP socket in this namespace (the inode names
    the socket in its owners' /proc/PID/fd)."""
    from pyroute2 import DiagSocket  # loaded when first needed: most agent requests never ask
    from pyroute2.netlink.exceptions import NetlinkError

    found: list[tuple[str, int, int]] = []
    try:
        with DiagSocket() as diag:
            diag.bind()
            for family in (socket.AF_INET, socket.AF_INET6):
                for msg in diag.get_sock_stats(family=family, states=1 << TCP_LISTEN, protocol=socket.IPPROTO_TCP):
                    address = str(ipaddress.ip_address(msg.get("idiag_src")))
                    found.append((address, int(msg.get("idiag_sport")), int(msg.get("idiag_inode") or 0)))
    except (NetlinkError, OSError) as exc:
        raise HostError(
            f"cannot list listening TCP sockets over netlink (sock_diag): {exc}",
            "the kernel needs inet_diag and tcp_diag (modprobe tcp_diag)",
        ) from exc
    return found


def is_listening(address: str, port: int, sockets: set[tuple[str, int]] | None = None) -> bool:
    """Whether something accepts TCP on ``address:port`` (a socket bound to it or to the wildcard)."""
    sockets = listening() if sockets is None else sockets
    ip = ipaddress.ip_address(address)
    wildcard = {"0.0.0.0", "::"} if ip.version == 4 else {"::"}
    return any(p == port and (a == str(ip) or a in wildcard) for a, p in sockets)


def ports_in_use(sockets: set[tuple[str, int]] | None = None) -> set[int]:
    return {p for _, p in (listening() if sockets is None else sockets)}
