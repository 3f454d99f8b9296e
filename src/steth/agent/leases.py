"""Leases: every change a probe makes to the host, with its undo steps and an expiry.

The store is a JSON file in the agent's state directory, written before the
change is made. Expired leases are undone by a background task; at start-up
every lease found (left by a crashed agent) is undone; at shutdown all are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import HostError

MAX_LEASE_SECONDS = 3600
# what the agent itself records (links, captures, iperf3): start-up recovery runs nothing else
AGENT_STEP_KINDS = frozenset({"path", "process", "link", "link_del", "addr_del", "addr_add"})
AGENT_PROGRAMS = frozenset({"tcpdump", "iperf3"})
DEFAULT_LEASE_SECONDS = 300


@dataclass
class Lease:
    id: str
    purpose: str
    expires_at: float  # wall clock (time.time()): must mean the same after a restart
    undo: list[dict[str, Any]] = field(default_factory=list)
    subject: str = ""  # the interface the lease changes (teardown-link finds leases by it)

    @property
    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.time())


class LeaseStore:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "leases.json")
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None

    # --- persistence ---
    def _save(self) -> None:
        """Write every lease to a temporary file, then rename it over leases.json: the file on disk is
        always whole. HostError (nothing written) when the state directory cannot take it, e.g. full."""
        tmp = self.path + ".tmp"
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump([asdict(lease) for lease in self._leases.values()], fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise HostError(
                f"cannot record the lease in {self.state_dir}: {exc.strerror}; nothing was changed "
                "(free space in the agent's state directory, --state-dir)"
            ) from exc

    def _load(self) -> list[Lease]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return [Lease(**d) for d in json.load(fh)]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError):
            return []

    # --- lifecycle ---
    def recover(self) -> list[str]:
        """Undo every lease a previous agent process left in the file, step by step as far as trusted.

        The file is only as trustworthy as the directory it lies in (start-up refuses a state
        directory others may write); even so a step is run only if it is of a kind this agent
        records, a path only under the state directory, a process only tcpdump or iperf3 still
        running with the recorded command line.
        """
        problems = []
        for lease in self._load():
            steps = []
            for step in lease.undo:
                why = self.untrusted(step)
                if why:
                    problems.append(f"lease {lease.id}: step skipped: {why}")
                else:
                    steps.append(step)
            problems += _undo_all(steps)
        with self._lock:
            self._leases.clear()
            self._save()
        return problems

    def untrusted(self, step: Any) -> str:
        """Why a recorded undo step must not be run ('' when it may)."""
        if not isinstance(step, dict) or step.get("kind") not in AGENT_STEP_KINDS:
            kind = step.get("kind") if isinstance(step, dict) else type(step).__name__
            return f"kind {kind!r} is not one this agent records"
        if step["kind"] == "path":
            root = os.path.realpath(self.state_dir)
            target = os.path.realpath(str(step.get("path", "")))
            if not target.startswith(root + os.sep):
                return f"path {step.get('path')!r} is outside the state directory {self.state_dir}"
        if step["kind"] == "process":
            argv = step.get("proc", {}).get("argv") or []
            if not any(os.path.basename(str(a)) in AGENT_PROGRAMS for a in argv):
                return f"process {argv[:1]} is not one this agent starts ({', '.join(sorted(AGENT_PROGRAMS))})"
            if not _cmdline_is(step["proc"].get("pid"), [str(a) for a in argv]):
                return f"process {step['proc'].get('pid')} does not run the recorded command any more"
        return ""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._expire_loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        for lease_id in list(self._leases):
            await asyncio.to_thread(self.release, lease_id)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for lease in self.due():
                await asyncio.to_thread(self.release, lease.id)

    # --- use ---
    def open(self, purpose: str, duration: float, subject: str = "") -> Lease:
        """Record a lease before making the change; add undo steps with ``add_undo`` as changes are made."""
        duration = min(max(duration, 1.0), MAX_LEASE_SECONDS)
        lease = Lease(id=uuid.uuid4().hex[:12], purpose=purpose, expires_at=time.time() + duration, subject=subject)
        with self._lock:
            self._leases[lease.id] = lease
            try:
                self._save()
            except HostError:
                del self._leases[lease.id]  # not recorded: the change must not be made
                raise
        return lease

    def add_undo(self, lease: Lease, step: dict[str, Any]) -> None:
        """Record how to reverse a change; call it *before* making the change where possible."""
        with self._lock:
            lease.undo.append(step)
            try:
                self._save()
            except HostError:
                lease.undo.pop()  # not recorded: the change must not be made
                raise

    def get(self, lease_id: str) -> Lease | None:
        return self._leases.get(lease_id)

    def all(self) -> list[Lease]:
        return list(self._leases.values())

    def about(self, subject: str) -> list[Lease]:
        """Leases that changed ``subject`` (an interface name)."""
        return [lease for lease in self._leases.values() if lease.subject == subject]

    def due(self) -> list[Lease]:
        now = time.time()
        return [lease for lease in self._leases.values() if lease.expires_at <= now]

    def release(self, lease_id: str) -> list[str]:
        """Undo a lease now; returns problems met (empty when clean). Unknown ids are a no-op."""
        with self._lock:
            lease = self._leases.pop(lease_id, None)
            if lease is None:
                return []
        problems = _undo_all(lease.undo)
        with self._lock:
            self._save()
        return problems


def _cmdline_is(pid: Any, argv: list[str]) -> bool:
    """Whether process ``pid`` runs ``argv`` (True when it is gone: the undo step is a no-op then).

    `ip netns exec NS PROG ...` execs PROG in place: the live command line is then the tail of ``argv``."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as fh:
            found = fh.read().split(b"\0")[:-1]
    except FileNotFoundError:
        return True
    except (OSError, ValueError, TypeError):
        return False
    live = [a.decode(errors="replace") for a in found]
    return bool(live) and live == argv[-len(live) :]


def _undo_all(steps: list[dict[str, Any]]) -> list[str]:
    """host.undo.run_all, imported only when there is something to undo (it loads the netlink layer)."""
    if not steps:
        return []
    from ..host import undo

    return undo.run_all(steps)
