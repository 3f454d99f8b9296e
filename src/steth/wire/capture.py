"""Wire models of packet capture (/v1/captures): the request, a capture's state, the agent's limits.

A capture is started with POST /v1/captures (answered once tcpdump listens),
streamed as pcap with GET /v1/captures/{id}/pcap (while it runs, or after it
ended), stopped with POST /v1/captures/{id}/stop and removed with DELETE
/v1/captures/{id}. Streaming it to the end removes it from the node.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .validators import IfName, NetnsName

MAX_FILTER_LENGTH = 2048
MAX_SNAPLEN = 262144
MAX_COUNT = 100_000_000
MAX_DURATION = 24 * 3600.0  # the agent's own limit (--capture-max-seconds) is checked by the agent

PCAP_MEDIA_TYPE = "application/vnd.tcpdump.pcap"


def check_filter(text: str) -> str:
    """A BPF expression as one argv element: printable, no leading '-' (never an option of tcpdump).

    Whether it compiles is checked by the agent with libpcap's own compiler.
    """
    for ch in text:
        if not ch.isprintable():
            raise ValueError(f"filter contains the control character {ch!r}")
    text = text.strip()
    if len(text) > MAX_FILTER_LENGTH:
        raise ValueError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    if text.startswith("-"):
        raise ValueError("filter must not start with '-'")
    return text


BpfFilter = Annotated[str, AfterValidator(check_filter)]


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interface: IfName
    netns: NetnsName | None = None  # None: the agent's own namespace
    filter: BpfFilter = ""
    duration: Annotated[float, Field(gt=0, le=MAX_DURATION)] = 30.0
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    max_bytes: Annotated[int, Field(ge=1024)] | None = None  # None: the agent's limit
    snaplen: Annotated[int, Field(ge=64, le=MAX_SNAPLEN)] = MAX_SNAPLEN
    # every packet into the stream at once (a live view); default: within about a second, at less
    # cost per packet and without loss at high rates
    immediate: bool = False


class CaptureState(str, Enum):
    RUNNING = "running"  # tcpdump runs
    FINISHED = "finished"  # tcpdump ended; the pcap waits on the node to be fetched
    REMOVED = "removed"  # fetched or deleted: nothing of it is left on the node


class CaptureInfo(BaseModel):
    id: str
    interface: str
    netns: str | None = None
    filter: str = ""
    state: CaptureState
    started_at: float  # wall clock, seconds since the epoch, when tcpdump was listening
    ends_by: float  # wall clock: the duration limit
    duration: float
    count: int | None = None
    max_bytes: int
    snaplen: int
    immediate: bool = False
    pid: int | None = None  # tcpdump's PID while it runs
    bytes: int = 0  # pcap bytes written so far (file size)
    packets_streamed: int = 0  # records sent to the client
    stop_reason: str | None = None  # count, duration, bytes, stopped, client-gone, expired, exited
    removed_by: str | None = None  # fetched, client-gone, stopped (DELETE), expired (not fetched in time)
    packets_captured: int | None = None  # tcpdump's statistics, once it ended
    packets_received: int | None = None  # "received by filter"
    packets_dropped: int | None = None  # "dropped by kernel": lost by the capture
    error: str | None = None


class CaptureLimits(BaseModel):
    max_seconds: float
    max_bytes: int
    max_concurrent: int
    fetch_seconds: float  # how long a finished capture waits on the node to be fetched


class CaptureList(BaseModel):
    limits: CaptureLimits
    captures: list[CaptureInfo]


__all__ = [
    "BpfFilter",
    "CaptureInfo",
    "CaptureLimits",
    "CaptureList",
    "CaptureRequest",
    "CaptureState",
    "PCAP_MEDIA_TYPE",
    "check_filter",
]
