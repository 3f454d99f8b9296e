"""Validated scalar types used by the wire models.

Interface names follow the kernel's rules (dev_valid_name): 1-15 bytes, not
"." or "..", no "/", ":" or whitespace.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

IFNAMSIZ = 16
_NETNS_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
_BRIDGE_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")


def check_ifname(name: str) -> str:
    """Return ``name`` if the kernel would accept it as an interface name."""
    if not name:
        raise ValueError("interface name is empty")
    if len(name.encode()) >= IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ - 1} bytes")
    if name in (".", ".."):
        raise ValueError(f"interface name {name!r} is not allowed")
    for ch in name:
        if ch == "/" or ch == ":" or ch.isspace() or not ch.isprintable():
            raise ValueError(f"interface name {name!r} contains {ch!r}, which the kernel refuses")
    return name


def check_netns(name: str) -> str:
    """A network namespace name: a single path component of safe characters."""
    if not _NETNS_RE.match(name) or name in (".", ".."):
        raise ValueError(f"namespace name {name!r} must be 1-64 of [A-Za-z0-9_.@+-]")
    return name


def check_bridge(name: str) -> str:
    if not _BRIDGE_RE.match(name):
        raise ValueError(f"bridge/port name {name!r} must be 1-64 of [A-Za-z0-9_.@+-]")
    return name


def check_ip(value: str) -> str:
    """A literal IPv4 or IPv6 address (no host names: the agent never resolves)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


IfName = Annotated[str, AfterValidator(check_ifname)]
NetnsName = Annotated[str, AfterValidator(check_netns)]
OvsName = Annotated[str, AfterValidator(check_bridge)]
IpAddress = Annotated[str, AfterValidator(check_ip)]
Count = Annotated[int, Field(ge=1, le=1000)]
Seconds = Annotated[float, Field(gt=0, le=60)]
