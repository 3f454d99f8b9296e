"""Processes by argv only (never a shell), tracked by PID *and* start time.

A recorded process is identified by (pid, start time in clock ticks), so a
PID reused by the kernel for something else is never signalled. A record with
``group`` set is signalled as its whole process group (it leads the group, spawned
in a new session): for a supervisor such as ``ovs-vswitchd --monitor``, whose
restarted daemon is its child in the same group and gets a new PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ProcRecord:
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    group: bool = False

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ProcRecord:
        return cls(
            pid=int(data["pid"]),
            start_ticks=int(data["start_ticks"]),
            argv=tuple(data["argv"]),
            group=bool(data.get("group", False)),
        )


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in ticks) of ``pid`` from /proc, or None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            data = fh.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    fields = data[data.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def record_of(pid: int, argv: tuple[str, ...] = ()) -> ProcRecord | None:
    """A record of a process we did not spawn ourselves (e.g. from its pid file), or None if it is gone."""
    st = _stat(pid)
    return ProcRecord(pid, st[1], tuple(argv)) if st else None


def is_alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def is_running(rec: ProcRecord) -> bool:
    st = _stat(rec.pid)
    return st is not None and st[1] == rec.start_ticks and st[0] not in ("Z", "X")


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn(
    argv: list[str],
    *,
    netns: str | None = None,
    log_path: str | None = None,
    env: dict[str, str] | None = None,
    group: bool = False,
) -> ProcRecord:
    """Start ``argv`` (inside ``netns`` via `ip netns exec`, which execs in place so the PID is the program's).

    ``group``: :func:`terminate` signals the process's whole group (see the module's docstring).
    """
    full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        child = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]
    st = _stat(child.pid)
    child.returncode = 0  # we reap by PID ourselves; stop Popen.__del__ from warning
    return ProcRecord(pid=child.pid, start_ticks=st[1] if st else 0, argv=tuple(full), group=group)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(rec: ProcRecord, sig: int) -> None:
    """``sig`` to the process, or to its group (only while the recorded leader runs: its PID is then the
    group's id, and no other process can hold that id)."""
    if rec.group:
        try:
            os.killpg(rec.pid, sig)
        except ProcessLookupError:
            pass
    else:
        os.kill(rec.pid, sig)


def terminate(rec: ProcRecord, timeout: float = 3.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True if this call stopped it (False if already gone).

    A ``group`` record is stopped with its group: the wait lasts until no process of the group is left.
    """
    if not is_running(rec):
        _reap(rec.pid)
        return False

    def alive() -> bool:
        _reap(rec.pid)
        return is_running(rec) or (rec.group and _group_alive(rec.pid))

    _signal(rec, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return True
        time.sleep(0.05)
    if alive():
        _signal(rec, signal.SIGKILL)
        for _ in range(40):
            if not alive():
                break
            time.sleep(0.05)
    return True


def run(
    argv: list[str],
    *,
    timeout: float = 30.0,
    netns: str | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a short command to completion; output captured as text. Raises on timeout.

    ``input`` goes to its stdin (else none); ``env`` adds to (never replaces) this process's
    environment, e.g. OVS_RUNDIR for ovs-appctl.
    """
    full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
        **stdin,
    )


def pids_naming(needle: str, exclude: set[int] | None = None) -> list[int]:
    """PIDs whose command line contains ``needle`` (e.g. a lab's unique directory), except ``exclude``.

    Used for what a recorded process started by itself (privsep helpers, dnsmasq): a needle unique
    to its owner never selects another owner's or the host's processes.
    """
    raw = needle.encode()
    skip = exclude if exclude is not None else ancestors()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if raw in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def ancestors(pid: int | None = None) -> set[int]:
    """``pid`` (default: this process) and its parents: a shell whose command line names a needle is never a target."""
    pids: set[int] = set()
    pid = os.getpid() if pid is None else pid
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                data = fh.read()
            pid = int(data[data.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            break
    return pids


def kill_pids(pids: list[int], timeout: float = 5.0) -> None:
    """SIGTERM each, wait (bounded) until they are gone, SIGKILL those left."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_alive(p) for p in pids):
        for pid in pids:
            _reap(pid)
        time.sleep(0.1)
    for pid in pids:
        if is_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
