"""Wire models of the iperf3 routes (/v1/iperf/...) and the bandwidth-rate syntax.

A rate is written like tc and iperf3 users expect: ``1G``, ``100M``, ``100mbit``,
``500k``, ``1.5Gbit/s`` or a plain number of bits per second. Multipliers are
decimal (k = 1000). Byte units (``MB``, ``mbps`` which tc reads as bytes) are
refused rather than guessed.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from .models import Verdict
from .validators import IpAddress, StrictModel

MAX_DURATION = 300  # seconds of one iperf3 test
MAX_PARALLEL = 64
MAX_CONNECT_TIMEOUT = 30.0
MAX_SERVER_LEASE = 3600
MAX_RATE = 10**13  # 10 Tbit/s: anything above is a typo

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(bit|bits|bit/s|b/s|)\s*$", re.IGNORECASE)
_BYTE_RE = re.compile(r"(B|[bB]ytes?|bps|Bps|B/s)\s*$")
_MULT = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_rate(text: str | int | float) -> int:
    """Bits per second from ``1G``, ``100M``, ``100mbit``, ``500k``, ``2.5Gbit/s``, ``1000000``."""
    if isinstance(text, bool):
        raise ValueError(f"rate {text!r} is not a rate")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _RATE_RE.match(text)
        if _BYTE_RE.search(text):
            raise ValueError(f"rate {text!r} looks like bytes per second; write bits, e.g. 100M or 100mbit")
        if not m:
            raise ValueError(f"rate {text!r} is not a rate; write e.g. 1G, 100M, 100mbit or 500k (bits/s)")
        value = float(m.group(1)) * _MULT[m.group(2).lower()]
    if value <= 0:
        raise ValueError(f"rate {text!r} must be more than 0")
    if value > MAX_RATE:
        raise ValueError(f"rate {text!r} is more than 10 Tbit/s")
    return int(round(value))


def format_rate(bps: float | None) -> str:
    """Human form of bits per second: ``95.3 Mbit/s``."""
    if bps is None:
        return ""
    for unit, mult in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= mult:
            return f"{bps / mult:.3g} {unit}" if bps / mult < 100 else f"{bps / mult:.0f} {unit}"
    return f"{bps:.0f} bit/s"


def _rate(value: int | str) -> int:
    return parse_rate(value)


Rate = Annotated[int | str, AfterValidator(_rate)]
Port = Annotated[int, Field(ge=1, le=65535)]
Duration = Annotated[float, Field(ge=1, le=MAX_DURATION)]


class Protocol(str, Enum):
    TCP = "tcp"
    UDP = "udp"


# ---- server ----------------------------------------------------------------


class IperfServerRequest(StrictModel):
    """Start a one-shot iperf3 server bound to ``bind``; it is killed when ``lease_seconds`` run out."""

    bind: IpAddress
    port: Port | None = None  # None: a free port from the agent's --iperf-ports range
    lease_seconds: Annotated[float, Field(ge=1, le=MAX_SERVER_LEASE)] = 60.0


class IperfServer(BaseModel):
    lease_id: str
    bind: str
    port: int
    pid: int
    expires_in: float


class IperfServerList(BaseModel):
    servers: list[IperfServer]
    max_servers: int
    ports: str


class IperfServerStop(BaseModel):
    lease_id: str
    released: bool
    problems: list[str] = []


# ---- client ----------------------------------------------------------------


class IperfClientRequest(StrictModel):
    server: IpAddress
    port: Port
    protocol: Protocol = Protocol.TCP
    duration: Duration = 10
    parallel: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] = 1
    bandwidth: Rate | None = None  # target bits/s (iperf3 -b); UDP defaults to iperf3's 1 Mbit/s
    reverse: bool = False  # server sends (iperf3 -R)
    bidir: bool = False  # both directions at once (iperf3 --bidir)
    bind: IpAddress | None = None  # client source address (iperf3 -B)
    connect_timeout: Annotated[float, Field(gt=0, le=MAX_CONNECT_TIMEOUT)] = 3.0

    @model_validator(mode="after")
    def _one_direction_mode(self) -> IperfClientRequest:
        if self.reverse and self.bidir:
            raise ValueError("reverse and bidir exclude each other")
        return self


class IperfFlow(BaseModel):
    """One direction of a test: who sent, and what arrived."""

    direction: str  # "forward" (client -> server) or "reverse" (server -> client)
    sender: str  # "client" or "server"
    bits_per_second: float  # received rate: what got through
    sent_bits_per_second: float
    bytes: int = 0
    retransmits: int | None = None  # TCP, sender side
    jitter_ms: float | None = None  # UDP
    lost_packets: int | None = None
    packets: int | None = None
    loss_pct: float | None = None


class IperfClientResult(BaseModel):
    server: str
    port: int
    protocol: Protocol
    duration: float
    flows: list[IperfFlow] = []
    cpu_client_pct: float | None = None
    cpu_server_pct: float | None = None
    started_at: float  # wall clock (time.time()) on the client's node
    ended_at: float
    verdict: Verdict
    error: str | None = None  # iperf3's own message when it could not run the test


__all__ = [
    "IperfClientRequest",
    "IperfClientResult",
    "IperfFlow",
    "IperfServer",
    "IperfServerList",
    "IperfServerRequest",
    "IperfServerStop",
    "MAX_DURATION",
    "Protocol",
    "Rate",
    "format_rate",
    "parse_rate",
]
