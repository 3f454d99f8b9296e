"""Validated scalar types used by the wire models.

Interface names follow the kernel's rules (dev_valid_name): 1-15 bytes, not
"." or "..", no "/", ":" or whitespace.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

IFNAMSIZ = 16
# used with fullmatch: "$" would also match before a trailing newline ("br-int\n" must be refused)
_NETNS_RE = re.compile(r"[A-Za-z0-9_.@+-]{1,64}")
_BRIDGE_RE = re.compile(r"[A-Za-z0-9_.@+-]{1,64}")


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
    if not _NETNS_RE.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"namespace name {name!r} must be 1-64 of [A-Za-z0-9_.@+-]")
    return name


def check_bridge(name: str) -> str:
    if not _BRIDGE_RE.fullmatch(name):
        raise ValueError(f"bridge/port name {name!r} must be 1-64 of [A-Za-z0-9_.@+-]")
    return name


def check_ip(value: str) -> str:
    """A literal IPv4 or IPv6 address (no host names: the agent never resolves)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


def check_host_cidr(value: str) -> str:
    """An address with prefix length that one interface may carry: ``10.0.0.5/24``.

    Refused: no prefix, and addresses no interface should be given by a probe
    (multicast, loopback, unspecified such as 0.0.0.0/0, the limited broadcast, a
    subnet's broadcast address, reserved ranges).
    """
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an address with prefix length, e.g. 10.0.0.5/24") from None
    if "/" not in value:
        raise ValueError(f"{value!r} needs a prefix length, e.g. {value}/24")
    ip, net = iface.ip, iface.network
    kinds = [
        ("multicast", ip.is_multicast),
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("broadcast", ip.version == 4 and (ip == net.broadcast_address and net.prefixlen < 31 or int(ip) == 2**32 - 1)),
        ("reserved", ip.is_reserved),
    ]
    for kind, hit in kinds:
        if hit:
            raise ValueError(f"{value!r} is a {kind} address: give a unicast host address, e.g. 10.0.0.5/24")
    return iface.with_prefixlen


# The JSON schemas describe (for the OpenAPI document and its fuzzers) what the check functions accept;
# an interface name's schema is the ASCII part of what the kernel accepts.
IFNAME_SCHEMA = {"type": "string", "pattern": "^[!-.0-9;-~]{1,15}$", "not": {"enum": [".", ".."]}}
NAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_.@+-]{1,64}$", "not": {"enum": [".", ".."]}}
IP_SCHEMA = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
IfName = Annotated[str, AfterValidator(check_ifname), WithJsonSchema(IFNAME_SCHEMA)]
NetnsName = Annotated[str, AfterValidator(check_netns), WithJsonSchema(NAME_SCHEMA)]
OVS_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_.@+-]{1,64}$"}
OvsName = Annotated[str, AfterValidator(check_bridge), WithJsonSchema(OVS_SCHEMA)]
IpAddress = Annotated[str, AfterValidator(check_ip), WithJsonSchema(IP_SCHEMA)]
Count = Annotated[int, Field(ge=1, le=1000)]
Seconds = Annotated[float, Field(gt=0, le=60)]


def parse_ports(text: str) -> tuple[int, int]:
    """``5201-5299`` (or one port) -> (first, last); ValueError with the rule when wrong."""
    parts = text.strip().split("-")
    try:
        if len(parts) == 1:
            lo = hi = int(parts[0])
        elif len(parts) == 2:
            lo, hi = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"port range {text!r} must be FIRST-LAST, e.g. 5201-5299") from None
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"port range {text!r} must satisfy 1 <= FIRST <= LAST <= 65535")
    return lo, hi


_SIZE_UNITS = {"": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
_SIZE_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30})


def parse_size(text: str | int) -> int:
    """Bytes from "100MB", "1GiB", "500k", "2000000"; ValueError when it is none of those."""
    if isinstance(text, int):
        return text
    s = str(text).strip().lower().replace(" ", "")
    digits = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(digits) :]
    if not digits or unit not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 100MB, 1GiB, 500000)")
    return int(float(digits) * _SIZE_UNITS[unit])


class StrictModel(BaseModel):
    """A request model: unknown fields are refused (422), not ignored."""

    model_config = ConfigDict(extra="forbid")
