"""Models of continuous watch: the plan the controller gives an agent, and the status it reports."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from .validators import IfName, IpAddress, StrictModel
from .vlan import MAX_VLAN, VlanId

MAX_WATCH_PEERS = 1024  # per network: the full mesh of a 1025-node fleet
MAX_WATCH_NETWORKS = 16
MAX_PROBE_RATE = 1000  # probe packets per second, the agent's hard ceiling whatever the plan says
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:@+-]{1,128}$")


def check_label(value: str) -> str:
    """A node or network name: it becomes a Prometheus label value, so keep it plain."""
    if not _NAME_RE.match(value):
        raise ValueError(f"name {value!r} must be 1-128 of [A-Za-z0-9_.:@+-]")
    return value


Label = Annotated[str, AfterValidator(check_label)]


class WatchPeer(StrictModel):
    name: Label
    address: IpAddress


class WatchNetwork(StrictModel):
    name: Label
    peers: Annotated[list[WatchPeer], Field(max_length=MAX_WATCH_PEERS)]
    mtu: Annotated[int, Field(ge=68, le=65535)] | None = None  # don't-fragment probe at this MTU; None: none
    # VLAN heartbeat: frames on these VLANs sent on `interface` every `vlan_every` rounds, and those of `probers`
    # heard there (the peers that probe this node, whose heartbeats it checks)
    vlans: Annotated[list[VlanId], Field(max_length=MAX_VLAN)] = []
    interface: IfName | None = None
    probers: Annotated[list[Label], Field(max_length=MAX_WATCH_PEERS)] = []

    @model_validator(mode="after")
    def _vlans_need_an_interface(self) -> WatchNetwork:
        if self.vlans and not self.interface:
            raise ValueError(f"network {self.name}: a VLAN heartbeat needs the trunk interface")
        if len(set(self.vlans)) != len(self.vlans):
            raise ValueError(f"network {self.name}: VLAN ids must not repeat")
        return self


class WatchPlan(StrictModel):
    """What one agent probes, and how often. Probes of a round are spread over the interval."""

    source: Label  # this node's name (the `source` label of its metrics)
    networks: Annotated[list[WatchNetwork], Field(min_length=1, max_length=MAX_WATCH_NETWORKS)]
    interval: Annotated[float, Field(ge=0.5, le=3600)] = 10.0
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.2  # fraction of a probe's slot it may move by at random
    timeout: Annotated[float, Field(gt=0, le=10)] = 1.0
    max_pps: Annotated[float, Field(gt=0, le=MAX_PROBE_RATE)] = 50.0  # hard cap on probe packets per second
    vlan_every: Annotated[int, Field(ge=1, le=1000)] = 6  # rounds between VLAN heartbeats

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> WatchPlan:
        if self.timeout > self.interval:
            raise ValueError(f"timeout {self.timeout:g} s must not exceed the interval {self.interval:g} s")
        names = [n.name for n in self.networks]
        if len(set(names)) != len(names):
            raise ValueError("each network may appear once in a plan")
        return self

    def packets_per_round(self) -> int:
        """Echo requests per round: one per peer and network, one more where the MTU is probed."""
        return sum(len(n.peers) * (2 if n.mtu else 1) for n in self.networks)


class WatchApplied(BaseModel):
    """The answer to a plan: short, so handing plans to a thousand agents does not echo them all back."""

    active: bool
    source: str
    peers: int  # (peer, network) pairs probed
    packets_per_round: int
    started_at: float


class PeerResult(BaseModel):
    network: str
    peer: str
    address: str
    sent: int = 0  # echo requests since the plan started
    lost: int = 0
    up: bool | None = None  # the last round's echo got an answer (None: not probed yet)
    rtt_ms: float | None = None  # the last round's round-trip time
    mtu_ok: bool | None = None  # the last don't-fragment probe at the network's MTU passed
    error: str | None = None  # the last round's error (ICMP error, send failure)
    mtu_error: str | None = None
    at: float | None = None  # Unix time of the last result


class VlanResult(BaseModel):
    network: str
    prober: str  # whose heartbeat frames this node listens for
    missing: list[int] = []  # VLANs none of its frames arrived on in the last two windows
    error: str | None = None  # listening failed
    at: float | None = None


class WatchStatus(BaseModel):
    active: bool
    plan: WatchPlan | None = None
    started_at: float | None = None
    rounds: int = 0
    last_round_at: float | None = None  # Unix time the last complete round ended
    probes_per_second: float = 0.0  # echo requests per second in the last round
    results: list[PeerResult] = []
    vlan_results: list[VlanResult] = []
