"""Running captures: start tcpdump under a lease, watch its limits, stream its pcap, remove everything after.

Every capture is a lease (its id is the lease id) whose undo steps stop the
tcpdump process (by PID and start time) and delete its pcap and log, so a
capture outlives neither its duration (plus a grace to fetch it), nor the
agent, nor a crash of the agent (undone at the next start).

A watcher task per capture stops tcpdump at the duration or byte limit (count
is tcpdump's own -c). The stream sends the growing file cut at record
boundaries and never more than the byte limit; when it has sent everything the
capture is removed from the node; when the client goes away mid-stream the
capture is stopped and removed at once. Only a summary stays, in memory.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ..host import capture as tcpdump
from ..host import netlink, proc, undo
from ..wire.capture import CaptureInfo, CaptureLimits, CaptureRequest, CaptureState
from ..wire.pcap import PcapFramer
from .leases import LeaseStore

START_TIMEOUT = 10.0  # tcpdump normally listens within ~50 ms
WATCH_INTERVAL = 0.05
READ_CHUNK = 256 * 1024
KEEP_SUMMARIES = 64


def proc_timeout() -> float:
    """Longest a stop can take: flushing the ring, then SIGTERM and, after 3 s, SIGKILL."""
    return tcpdump.BLOCK_TIMEOUT + 2.2 + 3.0 + 2.0


class CaptureRefused(Exception):
    """A request the agent will not run: ``status`` is the HTTP status, ``detail`` says why."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


@dataclass
class Capture:
    info: CaptureInfo
    rec: proc.ProcRecord
    path: str
    log_path: str
    streaming: bool = False
    ending: bool = False  # claimed by the one caller that stops tcpdump
    ended_sync: threading.Event = field(default_factory=threading.Event)  # that caller is done
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def id(self) -> str:
        return self.info.id


class CaptureManager:
    def __init__(
        self,
        leases: LeaseStore,
        state_dir: str,
        max_seconds: float,
        max_bytes: int,
        max_concurrent: int,
        fetch_seconds: float,
    ) -> None:
        self.leases = leases
        self.dir = os.path.join(state_dir, "captures")
        self.limits = CaptureLimits(
            max_seconds=max_seconds, max_bytes=max_bytes, max_concurrent=max_concurrent, fetch_seconds=fetch_seconds
        )
        self._active: dict[str, Capture] = {}
        self._summaries: OrderedDict[str, CaptureInfo] = OrderedDict()
        self._starting = 0
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task] = set()

    # ---- queries ----
    def get(self, capture_id: str) -> Capture | None:
        return self._active.get(capture_id)

    def info(self, capture_id: str) -> CaptureInfo | None:
        cap = self._active.get(capture_id)
        if cap is not None:
            self._refresh_size(cap)
            return cap.info
        return self._summaries.get(capture_id)

    def active(self) -> list[CaptureInfo]:
        for cap in list(self._active.values()):
            self._refresh_size(cap)
        return [c.info for c in list(self._active.values())]

    # ---- start ----
    def _check(self, req: CaptureRequest) -> int:
        lim = self.limits
        if req.duration > lim.max_seconds:
            raise CaptureRefused(
                422,
                f"duration: {req.duration:g} s is over this agent's limit of "
                f"{lim.max_seconds:g} s (--capture-max-seconds)",
            )
        if req.max_bytes is not None and req.max_bytes > lim.max_bytes:
            raise CaptureRefused(
                422,
                f"max_bytes: {req.max_bytes} is over this agent's limit of {lim.max_bytes} bytes (--capture-max-bytes)",
            )
        if req.netns and not tcpdump.netns_exists(req.netns):
            raise CaptureRefused(404, f"netns: no network namespace named {req.netns!r} on this node")
        iface = netlink.get_interface(req.interface, req.netns)
        where = f"namespace {req.netns!r}" if req.netns else "this node's namespace"
        if iface is None:
            raise CaptureRefused(404, f"interface: no interface named {req.interface!r} in {where}")
        if not iface.admin_up:
            raise CaptureRefused(
                409, f"interface: {req.interface} in {where} is down; tcpdump captures only on an interface that is up"
            )
        # interfaces with a MAC carry Ethernet frames (loopback too); others (tun) are asked for their link type
        problem = tcpdump.compile_filter(req.interface, req.filter, req.netns, linktype="EN10MB" if iface.mac else None)
        if problem:
            raise CaptureRefused(422, f"filter: {req.filter!r} does not compile: {problem}")
        return req.max_bytes or lim.max_bytes

    def _reserve(self) -> None:
        with self._lock:
            busy = len(self._active) + self._starting
            if busy >= self.limits.max_concurrent:
                raise CaptureRefused(
                    429,
                    f"this agent already holds {busy} captures, its limit (--capture-max-concurrent) is "
                    f"{self.limits.max_concurrent}: wait until one ends and is fetched, or stop one "
                    f"(DELETE /v1/captures/ID)",
                    headers={"Retry-After": "5"},
                )
            self._starting += 1

    def start(self, req: CaptureRequest) -> Capture:
        """Validate, start tcpdump under a lease, and return once it listens (blocking: run in a thread)."""
        self._reserve()
        try:
            max_bytes = self._check(req)
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            lease = self.leases.open(
                f"capture on {req.interface}" + (f" in {req.netns}" if req.netns else ""),
                req.duration + self.limits.fetch_seconds,
            )
            path = os.path.join(self.dir, f"{lease.id}.pcap")
            log_path = os.path.join(self.dir, f"{lease.id}.log")
            self.leases.add_undo(lease, undo.path(path))
            self.leases.add_undo(lease, undo.path(log_path))
            try:
                rec = tcpdump.start(
                    req.interface,
                    path,
                    log_path,
                    netns=req.netns,
                    bpf=req.filter,
                    snaplen=req.snaplen,
                    count=req.count,
                    immediate=req.immediate,
                )
            except OSError as exc:
                self.leases.release(lease.id)
                raise CaptureRefused(500, f"cannot start tcpdump: {exc}") from exc
            self.leases.add_undo(lease, undo.process(rec))
            self._wait_listening(lease.id, rec, log_path)
            now = time.time()
            info = CaptureInfo(
                id=lease.id,
                interface=req.interface,
                netns=req.netns,
                filter=req.filter,
                state=CaptureState.RUNNING,
                started_at=now,
                ends_by=now + req.duration,
                duration=req.duration,
                count=req.count,
                max_bytes=max_bytes,
                snaplen=req.snaplen,
                immediate=req.immediate,
                pid=rec.pid,
            )
            cap = Capture(info=info, rec=rec, path=path, log_path=log_path)
            with self._lock:
                self._active[cap.id] = cap
            return cap
        finally:
            with self._lock:
                self._starting -= 1

    def _wait_listening(self, lease_id: str, rec: proc.ProcRecord, log_path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = tcpdump.read_log(log_path)
            if tcpdump.listening(text):
                return
            if not proc.is_running(rec) or time.monotonic() > deadline:
                text = tcpdump.read_log(log_path)
                self.leases.release(lease_id)
                why = tcpdump.error_lines(text) or "it exited without a message"
                raise CaptureRefused(500, f"tcpdump did not start capturing: {why}")
            time.sleep(0.01)

    # ---- watching ----
    def watch(self, cap: Capture) -> None:
        """Start the task enforcing duration and byte limits (call on the event loop)."""
        self._background(self._watch(cap))

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, cap: Capture) -> None:
        """Until the capture is removed: its limits while it runs, its lease (fetch deadline) after."""
        while cap.id in self._active:
            await asyncio.sleep(WATCH_INTERVAL if cap.info.state == CaptureState.RUNNING else 0.5)
            if cap.id not in self._active:
                break
            if self.leases.get(cap.id) is None:  # expired (or the agent stops): the lease undid it all
                await asyncio.to_thread(self.remove, cap.id, "expired")
                break
            if cap.info.state != CaptureState.RUNNING or cap.ending:
                continue
            size = self._refresh_size(cap)
            if not proc.is_running(cap.rec):
                await self.stop(cap, None)
            elif time.time() >= cap.info.ends_by:
                await self.stop(cap, "duration", flush=True)
            elif size >= cap.info.max_bytes:
                await self.stop(cap, "bytes")

    def _refresh_size(self, cap: Capture) -> int:
        try:
            cap.info.bytes = os.path.getsize(cap.path)
        except OSError:
            pass
        return cap.info.bytes

    async def stop(self, cap: Capture, reason: str | None, flush: bool = False) -> None:
        """Stop tcpdump (it prints its statistics); the pcap stays until fetched or removed.

        ``flush``: first let the packets already in the kernel ring reach the file."""
        if cap.info.state == CaptureState.RUNNING:
            await asyncio.to_thread(self._end, cap, reason, flush)
        cap.ended.set()

    def _flush(self, cap: Capture) -> None:
        """Wait until the file stopped growing, and (buffered) one block timeout passed: tcpdump leaves
        what is still in the ring unwritten when it is told to exit."""
        start = time.monotonic()
        settle = 0.0 if cap.info.immediate else tcpdump.BLOCK_TIMEOUT + 0.1
        last, still_since = -1, start
        while time.monotonic() - start < settle + 2.0 and proc.is_running(cap.rec):
            size = self._refresh_size(cap)
            now = time.monotonic()
            if size != last:
                last, still_since = size, now
            elif now - start >= settle and now - still_since >= 0.15:
                return
            time.sleep(0.05)

    def _end(self, cap: Capture, reason: str | None, flush: bool = False) -> None:
        with self._lock:
            claimed = not cap.ending and cap.info.state == CaptureState.RUNNING
            if claimed:
                cap.ending = True
                if reason is not None:
                    cap.info.stop_reason = cap.info.stop_reason or reason
        if not claimed:
            if cap.ending:  # another caller ends it: wait until it did (statistics, state)
                cap.ended_sync.wait(timeout=proc_timeout())
            return
        try:
            self._stop_tcpdump(cap, reason, flush)
        finally:
            cap.ended_sync.set()

    def _stop_tcpdump(self, cap: Capture, reason: str | None, flush: bool) -> None:
        if flush:
            self._flush(cap)
        proc.terminate(cap.rec)  # no-op (but reaps) when it already exited
        text = tcpdump.read_log(cap.log_path)
        stats = tcpdump.statistics(text)
        for key, value in stats.items():
            setattr(cap.info, key, value)
        self._refresh_size(cap)
        cap.info.pid = None
        if reason is None:
            if cap.info.count and stats.get("packets_captured", 0) >= cap.info.count:
                reason = "count"
            else:
                reason = "exited"
                cap.info.error = tcpdump.error_lines(text) or None
        cap.info.stop_reason = cap.info.stop_reason or reason
        # last: a stream seeing FINISHED reads the file once more, and tcpdump has exited by now
        with self._lock:
            if cap.info.state == CaptureState.RUNNING:
                cap.info.state = CaptureState.FINISHED

    # ---- removal ----
    def remove(self, capture_id: str, reason: str = "removed") -> CaptureInfo | None:
        """Stop tcpdump if it runs and delete its files (the lease's undo steps); keep a summary."""
        with self._lock:
            cap = self._active.get(capture_id)
        if cap is None:
            return self._summaries.get(capture_id)
        self._end(cap, reason)
        problems = self.leases.release(capture_id)
        with self._lock:
            self._active.pop(capture_id, None)
            cap.info.state = CaptureState.REMOVED
            cap.info.removed_by = reason
            if problems:
                cap.info.error = "; ".join([cap.info.error or "", *problems]).strip("; ")
            self._summaries[capture_id] = cap.info
            while len(self._summaries) > KEEP_SUMMARIES:
                self._summaries.popitem(last=False)
        return cap.info

    # ---- streaming ----
    def claim_stream(self, cap: Capture) -> None:
        if not os.path.exists(cap.path):
            raise CaptureRefused(410, f"the pcap of capture {cap.id} is gone from the node (its lease ended)")
        with self._lock:
            if cap.streaming:
                raise CaptureRefused(409, f"capture {cap.id} is already being streamed to another client")
            cap.streaming = True

    async def stream(self, cap: Capture) -> AsyncIterator[bytes]:
        """The pcap as it grows, whole records only, at most max_bytes; then the capture is removed.

        If the client goes away first (the response is cancelled), tcpdump is stopped and
        everything removed at once."""
        framer = PcapFramer(cap.info.max_bytes)
        sent_all = False
        try:
            with open(cap.path, "rb") as fh:
                idle = 0.005
                while True:
                    ended = cap.info.state != CaptureState.RUNNING  # before reading: nothing comes after
                    chunk = fh.read(READ_CHUNK)
                    if chunk:
                        out = framer.feed(chunk)
                        cap.info.packets_streamed = framer.packets
                        if out:
                            yield out
                        if framer.full:
                            await self.stop(cap, "bytes")
                            break
                        idle = 0.005
                        continue
                    if ended:
                        break
                    if cap.ended.is_set():  # stopping: tcpdump exits within moments
                        await asyncio.sleep(0.01)
                        continue
                    try:
                        await asyncio.wait_for(cap.ended.wait(), idle)
                    except TimeoutError:
                        pass
                    idle = min(idle * 2, 0.1)
            sent_all = True
        finally:
            reason = "fetched" if sent_all else "client-gone"
            # no await here: a cancelled or closed generator cannot wait; the removal runs as its own task
            try:
                self._background(asyncio.to_thread(self.remove, cap.id, reason))
            except RuntimeError:  # no running loop (interpreter shutting down): the lease still expires
                pass
