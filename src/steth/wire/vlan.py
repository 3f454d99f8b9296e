"""Wire models of the VLAN probes (/v1/vlan/...) and of the link changes (/v1/links/...).

VLAN 0 in a probe request means "untagged" (the native VLAN of the trunk).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from .models import Verdict
from .validators import IfName, check_host_cidr

MAX_VLAN = 4094
MAX_LISTEN_SECONDS = 60.0
MAX_GRACE_SECONDS = 5.0
MAX_REPEAT = 3
MAX_LEASE_SECONDS = 3600
_RUN_ID_RE = re.compile(r"(?:[0-9a-f]{2}){1,8}")  # whole bytes; fullmatch: "$" lets a trailing newline through
_SENDER_RE = re.compile(r"[A-Za-z0-9_.@:+-]{1,32}")
_CAPTURE_RE = re.compile(r"[0-9a-f]{8,32}")

VlanId = Annotated[int, Field(ge=1, le=MAX_VLAN)]
ProbeVlan = Annotated[int, Field(ge=0, le=MAX_VLAN)]  # 0: untagged


def parse_vlans(text: str, *, allow_untagged: bool = False) -> list[int]:
    """``"100-199,1000"`` -> sorted unique VLAN ids; ``untagged`` (or 0 when allowed) for the native VLAN.

    ValueError names the bad part.
    """
    if text is None or not str(text).strip():
        raise ValueError("no VLAN given (e.g. 100-199,1000)")
    low = 0 if allow_untagged else 1
    found: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty item in VLAN list {text!r}")
        if part.lower() in ("untagged", "native"):
            if not allow_untagged:
                raise ValueError(f"{part!r} is not allowed here: give VLAN ids 1-{MAX_VLAN}")
            found.add(0)
            continue
        m = re.fullmatch(r"(\d{1,9})(?:\s*-\s*(\d{1,9}))?", part)
        if not m:
            raise ValueError(f"{part!r} is not a VLAN id or range (e.g. 100 or 100-199)")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        for v in (first, last):
            if not low <= v <= MAX_VLAN:
                raise ValueError(f"VLAN {v} in {part!r} is out of range {low}-{MAX_VLAN}")
        if last < first:
            raise ValueError(f"range {part!r} runs backwards")
        found.update(range(first, last + 1))
    return sorted(found)


def format_ranges(vlans: list[int] | set[int]) -> str:
    """[1,2,3,7,9,10] -> "1-3,7,9-10"; 0 is written "untagged"."""
    items = sorted(set(vlans))
    parts: list[str] = []
    if items and items[0] == 0:
        parts.append("untagged")
        items = items[1:]
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        parts.append(str(items[i]) if i == j else f"{items[i]}-{items[j]}")
        i = j + 1
    return ",".join(parts)


def _check_run_id(value: str) -> str:
    if not _RUN_ID_RE.fullmatch(value):
        raise ValueError("run_id must be 1-8 bytes as lowercase hex (an even number of digits, 2-16)")
    return value


def _check_sender(value: str) -> str:
    if not _SENDER_RE.fullmatch(value):
        raise ValueError("sender must be 1-32 of [A-Za-z0-9_.@:+-]")
    return value


def check_capture_id(value: str) -> str:
    if not _CAPTURE_RE.fullmatch(value):
        raise ValueError("capture id must be 8-32 lowercase hex digits")
    return value


def _pattern(regex: re.Pattern[str]) -> WithJsonSchema:
    """The schema of a string checked with ``regex.fullmatch`` (for the OpenAPI document)."""
    return WithJsonSchema({"type": "string", "pattern": f"^{regex.pattern}$"})


RunId = Annotated[str, AfterValidator(_check_run_id), _pattern(_RUN_ID_RE)]
SenderId = Annotated[str, AfterValidator(_check_sender), _pattern(_SENDER_RE)]
CaptureId = Annotated[str, AfterValidator(check_capture_id), _pattern(_CAPTURE_RE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- VLAN probes --------------------------------------------------------------


class VlanListenRequest(_Strict):
    """Open a capture: the socket is bound and filtered before the answer, so sending may start at once."""

    interface: IfName
    run_id: RunId
    duration: Annotated[float, Field(gt=0, le=MAX_LISTEN_SECONDS)] = 10.0


class VlanListenStarted(BaseModel):
    capture_id: str
    interface: str
    run_id: str
    duration: float


class VlanCollectRequest(_Strict):
    """Collect a capture: wait ``grace`` seconds for frames in flight, then stop it and return what was heard."""

    grace: Annotated[float, Field(ge=0, le=MAX_GRACE_SECONDS)] = 0.3


class VlanMismatch(BaseModel):
    sent: int  # VLAN named in the payload (0: untagged)
    seen: int  # tag it arrived with (0: none)


class VlanHeard(BaseModel):
    sender: str
    interface: str
    vlans: list[int]  # heard with the tag they were sent with; 0 = untagged
    mismatched: list[VlanMismatch] = []


class VlanCaptureResult(BaseModel):
    capture_id: str
    run_id: str
    interface: str
    frames: int
    ignored: int  # probe-ethertype frames of other runs or malformed
    kernel_drops: int  # frames the socket's buffer could not hold
    heard: list[VlanHeard]
    verdict: Verdict
    error: str | None = None


class VlanSendRequest(_Strict):
    interface: IfName
    run_id: RunId
    sender: SenderId
    vlans: Annotated[list[ProbeVlan], Field(min_length=1, max_length=MAX_VLAN + 1)]
    repeat: Annotated[int, Field(ge=1, le=MAX_REPEAT)] = 1
    rate: Annotated[float, Field(ge=100, le=10_000_000)] | None = None  # frames/s; None: as fast as possible

    @field_validator("vlans")
    @classmethod
    def _unique(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("VLAN ids must not repeat")
        return v


class VlanSendResult(BaseModel):
    interface: str
    mac: str
    sent: int
    errors: int = 0
    elapsed_ms: float
    verdict: Verdict
    error: str | None = None


# ---- link changes (leased) ------------------------------------------------------


Cidr = Annotated[str, AfterValidator(check_host_cidr)]
LeaseSeconds = Annotated[float, Field(ge=1, le=MAX_LEASE_SECONDS)]


class LinkSetupRequest(_Strict):
    interface: IfName
    cidr: Cidr
    lease: LeaseSeconds = 300
    flush: bool = False  # remove the interface's other addresses (restored when the lease ends)


class LinkTeardownRequest(_Strict):
    interface: IfName
    force: bool = False  # delete an interface steth did not create


class VlanInterfaceRequest(_Strict):
    interface: IfName
    vlan_id: VlanId
    lease: LeaseSeconds = 300


class LinkChange(BaseModel):
    interface: str
    lease_id: str | None = None
    expires_at: float | None = None  # wall clock, seconds since the epoch
    changes: list[str] = []
    detail: str = ""


__all__ = [
    "CaptureId",
    "Cidr",
    "LinkChange",
    "LinkSetupRequest",
    "LinkTeardownRequest",
    "MAX_VLAN",
    "ProbeVlan",
    "RunId",
    "SenderId",
    "VlanCaptureResult",
    "VlanCollectRequest",
    "VlanHeard",
    "VlanInterfaceRequest",
    "VlanListenRequest",
    "VlanListenStarted",
    "VlanMismatch",
    "VlanSendRequest",
    "VlanSendResult",
    "format_ranges",
    "parse_vlans",
]
