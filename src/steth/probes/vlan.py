"""VLAN trunk probes: bounded captures of probe frames, and sweeps of tagged frames. Read-only.

A capture is opened (socket bound and filtered) before its id is returned, so a
controller that opens captures on every node and then asks them to send has no
race. A capture ends at its deadline, or earlier when collected; results not
collected are forgotten a minute after the deadline.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from ..errors import HostError, UsageError
from ..host import packets
from ..wire.models import Verdict
from ..wire.vlan import (
    VlanCaptureResult,
    VlanHeard,
    VlanListenRequest,
    VlanListenStarted,
    VlanMismatch,
    VlanSendRequest,
    VlanSendResult,
)

MAX_CAPTURES = 16
KEEP_SECONDS = 60.0


class NoSuchInterface(UsageError):
    pass


class TooBusy(UsageError):
    pass


def require_interface(name: str) -> None:
    if not os.path.exists(f"/sys/class/net/{name}"):
        raise NoSuchInterface(f"no interface named {name!r} on this node")


@dataclass
class Capture:
    id: str
    request: VlanListenRequest
    listener: packets.Listener
    deadline: float
    thread: threading.Thread | None = None
    heard: packets.Heard | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            self.heard = self.listener.capture(self.deadline)
        except Exception as exc:  # reported in the result, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()


class CaptureStore:
    """The agent's open captures (at most MAX_CAPTURES)."""

    def __init__(self) -> None:
        self._captures: dict[str, Capture] = {}
        self._lock = threading.Lock()

    def _forget_stale(self) -> None:
        now = time.monotonic()
        for cid, cap in list(self._captures.items()):
            if cap.done.is_set() and now > cap.deadline + KEEP_SECONDS:
                del self._captures[cid]

    def open(self, req: VlanListenRequest) -> VlanListenStarted:
        """Bind the socket and start reading; blocking (call it off the event loop)."""
        require_interface(req.interface)
        with self._lock:
            self._forget_stale()
            if len(self._captures) >= MAX_CAPTURES:
                raise TooBusy(
                    f"{MAX_CAPTURES} captures are open on this node already", "collect them or wait for them to end"
                )
            listener = packets.Listener(req.interface, req.run_id)
            cap = Capture(
                id=secrets.token_hex(8), request=req, listener=listener, deadline=time.monotonic() + req.duration
            )
            self._captures[cap.id] = cap
        cap.thread = threading.Thread(target=cap.run, name=f"vlan-capture-{cap.id}", daemon=True)
        cap.thread.start()
        return VlanListenStarted(capture_id=cap.id, interface=req.interface, run_id=req.run_id, duration=req.duration)

    def get(self, capture_id: str) -> Capture | None:
        return self._captures.get(capture_id)

    async def collect(self, capture_id: str, grace: float) -> VlanCaptureResult | None:
        cap = self._captures.get(capture_id)
        if cap is None:
            return None
        if grace:
            await asyncio.sleep(min(grace, max(0.0, cap.deadline - time.monotonic())))
        cap.listener.stop()
        await asyncio.to_thread(cap.done.wait, cap.request.duration + 5)
        with self._lock:
            self._captures.pop(capture_id, None)
        return result_of(cap)

    def stop_all(self) -> None:
        for cap in list(self._captures.values()):
            cap.listener.stop()


def result_of(cap: Capture) -> VlanCaptureResult:
    heard = cap.heard or packets.Heard()
    senders = []
    for sender, iface in sorted(set(heard.by_sender) | set(heard.mismatched)):
        mism = sorted(heard.mismatched.get((sender, iface), set()))
        senders.append(
            VlanHeard(
                sender=sender,
                interface=iface,
                vlans=sorted(heard.by_sender.get((sender, iface), ())),
                mismatched=[VlanMismatch(sent=a, seen=b) for a, b in mism],
            )
        )
    req = cap.request
    return VlanCaptureResult(
        capture_id=cap.id,
        run_id=req.run_id,
        interface=req.interface,
        frames=heard.frames,
        ignored=heard.ignored,
        kernel_drops=heard.kernel_drops,
        heard=senders,
        verdict=Verdict.ERROR if cap.error else Verdict.OK,
        error=cap.error,
    )


def send(req: VlanSendRequest) -> VlanSendResult:
    """Blocking: the sweep takes milliseconds (call it off the event loop)."""
    require_interface(req.interface)
    try:
        done = packets.send_probes(req.interface, req.run_id, req.sender, req.vlans, repeat=req.repeat, rate=req.rate)
    except HostError as exc:
        return VlanSendResult(
            interface=req.interface, mac="", sent=0, elapsed_ms=0.0, verdict=Verdict.ERROR, error=str(exc)
        )
    expected = len(req.vlans) * req.repeat
    verdict = Verdict.OK if done.sent == expected else Verdict.ERROR
    error = None
    if done.sent != expected:
        error = f"sent {done.sent} of {expected} frames" + (f": {done.error}" if done.error else "")
    return VlanSendResult(
        interface=req.interface,
        mac=done.mac,
        sent=done.sent,
        errors=done.errors,
        elapsed_ms=round(done.elapsed * 1000, 3),
        verdict=verdict,
        error=error,
    )
