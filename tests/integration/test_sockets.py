"""host/sockets.py asks the kernel (netlink sock_diag) for the listening TCP sockets of a namespace: checked
in a fresh namespace of this test against sockets it opens there, listening and not."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator

import pytest

from steth.host import netns, sockets

from .conftest import NS_PREFIX, ip, netns_names, skip_unless_root

skip_unless_root()

pytestmark = [pytest.mark.root]


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"{NS_PREFIX}sk{secrets.token_hex(3)}"
    ip("netns", "add", name)
    try:
        ip("link", "set", "lo", "up", ns=name)
        yield name
    finally:
        ip("netns", "del", name, check=False)
    assert name not in netns_names()


def test_listening_sockets_of_a_namespace(ns):
    opened: list[socket.socket] = []

    def tcp(family: int, address: str, listen: bool) -> int:
        s = socket.socket(family, socket.SOCK_STREAM)
        opened.append(s)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((address, 0))
        if listen:
            s.listen()
        return s.getsockname()[1]

    def setup() -> dict[str, int]:
        ports = {
            "v4": tcp(socket.AF_INET, "127.0.0.1", True),
            "any4": tcp(socket.AF_INET, "0.0.0.0", True),
            "v6": tcp(socket.AF_INET6, "::1", True),
            "any6": tcp(socket.AF_INET6, "::", True),
            "bound": tcp(socket.AF_INET, "127.0.0.1", False),  # bound, not listening
        }
        client = socket.create_connection(("127.0.0.1", ports["v4"]))  # an established connection
        opened.append(client)
        return ports

    try:
        ports = netns.call_in(ns, setup)
        found = netns.call_in(ns, sockets.listening)
    finally:
        for s in opened:
            s.close()
    # exactly the listeners: not the bound socket, not either end of the connection, nothing of another namespace
    assert found == {
        ("127.0.0.1", ports["v4"]),
        ("0.0.0.0", ports["any4"]),
        ("::1", ports["v6"]),
        ("::", ports["any6"]),
    }
    assert sockets.is_listening("127.0.0.1", ports["any4"], found)
    assert not sockets.is_listening("127.0.0.1", ports["bound"], found)
    assert sockets.ports_in_use(found) == {ports["v4"], ports["any4"], ports["v6"], ports["any6"]}


def test_a_closed_listener_is_gone(ns):
    def listen() -> socket.socket:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        return s

    s = netns.call_in(ns, listen)
    port = s.getsockname()[1]
    assert netns.call_in(ns, lambda: sockets.is_listening("127.0.0.1", port))
    s.close()
    assert not netns.call_in(ns, lambda: sockets.is_listening("127.0.0.1", port))
