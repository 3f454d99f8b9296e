"""Typed request/result models of the agent API, version 1.

The agent validates requests with these models and the controller parses
responses with the same ones, so both sides agree on one contract.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .validators import Count, IfName, IpAddress, NetnsName, OvsName, Seconds

API_VERSION = "v1"
MAX_PING_TARGETS = 1024
MAX_PORTS = 256


class Verdict(str, Enum):
    OK = "ok"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


def worst(verdicts: list[Verdict]) -> Verdict:
    """The verdict that summarises several: error > fail > ok > skipped."""
    order = [Verdict.ERROR, Verdict.FAIL, Verdict.OK, Verdict.SKIPPED]
    for v in order:
        if v in verdicts:
            return v
    return Verdict.SKIPPED


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- interfaces -----------------------------------------------------------

class Address(BaseModel):
    family: int  # 4 or 6
    address: str
    prefixlen: int
    broadcast: str | None = None
    scope: str = "global"


class LinkStats(BaseModel):
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0


class Interface(BaseModel):
    name: str
    index: int
    kind: str  # veth, bridge, vxlan, tun, loopback, device, ...
    state: str  # up, down, unknown, ... (operstate)
    admin_up: bool
    mtu: int
    mac: str | None = None
    master: str | None = None
    addresses: list[Address] = []
    stats: LinkStats = LinkStats()


class Capabilities(BaseModel):
    openvswitch: bool
    openvswitch_detail: str = ""
    vlan_8021q: bool
    vlan_8021q_detail: str = ""
    iperf3: bool
    raw_sockets: bool


class AgentInfo(BaseModel):
    hostname: str
    version: str
    api_version: str = API_VERSION
    interfaces: list[Interface]
    capabilities: Capabilities


class Health(BaseModel):
    status: str = "ok"
    version: str


class Namespace(BaseModel):
    name: str
    interfaces: list[Interface] = []
    error: str | None = None


# ---- ping -----------------------------------------------------------------

class PingRequest(_Strict):
    targets: Annotated[list[IpAddress], Field(min_length=1, max_length=MAX_PING_TARGETS)]
    count: Annotated[int, Field(ge=1, le=100)] = 3
    interval: Annotated[float, Field(ge=0.01, le=10)] = 0.2
    timeout: Seconds = 1.0
    size: Annotated[int, Field(ge=0, le=65000)] = 56
    dont_fragment: bool = False
    interface: IfName | None = None
    source: IpAddress | None = None

    @model_validator(mode="after")
    def _bounded_duration(self) -> "PingRequest":
        if self.count * (self.interval + self.timeout) > 120:
            raise ValueError("count * (interval + timeout) must not exceed 120 seconds")
        return self


class PingResult(BaseModel):
    target: str
    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    rtt_mdev_ms: float | None = None
    verdict: Verdict
    error: str | None = None


class PingResponse(BaseModel):
    results: list[PingResult]


# ---- Open vSwitch ---------------------------------------------------------

class OvsCheckPortsRequest(_Strict):
    bridge: OvsName
    ports: Annotated[list[OvsName], Field(min_length=1, max_length=MAX_PORTS)]


class OvsPortPresence(BaseModel):
    port: str
    present: bool
    verdict: Verdict


class OvsCheckPortsResponse(BaseModel):
    bridge: str
    bridge_exists: bool
    ovs_available: bool
    detail: str = ""
    verdict: Verdict
    ports: list[OvsPortPresence] = []


class ErrorBody(BaseModel):
    detail: str


__all__ = [
    "API_VERSION", "Address", "AgentInfo", "Capabilities", "ErrorBody", "Health", "Interface",
    "LinkStats", "Namespace", "NetnsName", "OvsCheckPortsRequest", "OvsCheckPortsResponse",
    "OvsPortPresence", "PingRequest", "PingResponse", "PingResult", "Verdict", "Count", "worst",
]
