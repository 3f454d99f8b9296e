"""tcpdump, argv only: compile a filter, start a capture into a file, read its statistics.

tcpdump runs in the agent's namespace or, through `ip netns exec NS` (which
execs in place, so the recorded PID is tcpdump's), inside a named namespace.
It writes pcap with nanosecond timestamps, flushed after every packet (-U), so
the file can be streamed while it grows; packets reach it within a second
(the ring's block timeout), or at once with --immediate-mode. It keeps root
(-Z root) to write into the agent's private capture directory.
"""

from __future__ import annotations

import os
import re
import shutil

from ..errors import CapabilityMissing
from . import proc

TCPDUMP = "tcpdump"
BUFFER_KIB = 32768  # kernel ring (-B): absorbs bursts while tcpdump writes
BLOCK_TIMEOUT = 1.0  # without --immediate-mode the ring hands over packets in blocks, at the latest after this
_STATS = {
    "packets_captured": re.compile(r"^(\d+) packets? captured", re.M),
    "packets_received": re.compile(r"^(\d+) packets? received by filter", re.M),
    "packets_dropped": re.compile(r"^(\d+) packets? dropped by kernel", re.M),
}


def tcpdump_path() -> str:
    found = shutil.which(TCPDUMP) or next(
        (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/sbin/tcpdump") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise CapabilityMissing("tcpdump is not installed on this node", "install the tcpdump package")
    return found


def netns_exists(name: str) -> bool:
    return os.path.exists(os.path.join("/run/netns", name))


def _filter_args(bpf: str) -> list[str]:
    # "--" ends the options: the expression is one argument and never read as an option
    return ["--", bpf] if bpf else []


def compile_filter(
    interface: str, bpf: str, netns: str | None = None, linktype: str | None = None, timeout: float = 15.0
) -> str | None:
    """Compile ``bpf`` with libpcap (`tcpdump -d`) for ``linktype`` (e.g. EN10MB), or for the link type
    of ``interface`` (opened to learn it); None when it compiles, else the compiler's message."""
    if not bpf:
        return None
    target = ["-y", linktype] if linktype else ["-i", interface]
    done = proc.run([tcpdump_path(), "-d", *target, *_filter_args(bpf)], netns=netns, timeout=timeout)
    if done.returncode == 0:
        return None
    lines = [line.removeprefix("tcpdump: ").strip() for line in done.stderr.splitlines() if line.strip()]
    return "; ".join(lines) or f"tcpdump -d exited with {done.returncode}"


def capture_argv(
    interface: str,
    path: str,
    *,
    bpf: str = "",
    snaplen: int = 262144,
    count: int | None = None,
    immediate: bool = False,
) -> list[str]:
    """tcpdump's argv. Buffered (the default) it hands packets over in blocks of the kernel ring, at
    the latest after BLOCK_TIMEOUT: cheap, no loss at 100k+ packets/s on a veth. --immediate-mode
    hands over every packet at once (a live view), at a higher cost per packet."""
    argv = [
        tcpdump_path(),
        "-i",
        interface,
        "-n",
        "-s",
        str(snaplen),
        "-U",
        "--time-stamp-precision=nano",
        "-B",
        str(BUFFER_KIB),
        "-Z",
        "root",
        "-w",
        path,
    ]
    if immediate:
        argv.append("--immediate-mode")
    if count:
        argv += ["-c", str(count)]
    return argv + _filter_args(bpf)


def start(
    interface: str,
    path: str,
    log_path: str,
    *,
    netns: str | None = None,
    bpf: str = "",
    snaplen: int = 262144,
    count: int | None = None,
    immediate: bool = False,
) -> proc.ProcRecord:
    """Start tcpdump writing ``path`` (its messages and statistics go to ``log_path``)."""
    return proc.spawn(
        capture_argv(interface, path, bpf=bpf, snaplen=snaplen, count=count, immediate=immediate),
        netns=netns,
        log_path=log_path,
    )


def read_log(log_path: str, limit: int = 65536) -> str:
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return ""


def listening(log_text: str) -> bool:
    """tcpdump says "listening on IFACE" once its socket is open and its filter attached."""
    return "listening on" in log_text


def statistics(log_text: str) -> dict[str, int]:
    """tcpdump's exit statistics (captured, received by filter, dropped by kernel), those present."""
    found = {}
    for key, rx in _STATS.items():
        m = rx.search(log_text)
        if m:
            found[key] = int(m.group(1))
    return found


def error_lines(log_text: str) -> str:
    """tcpdump's complaints: every line but the banner and the statistics."""
    keep = []
    for line in log_text.splitlines():
        line = line.strip()
        if not line or listening(line) or any(rx.match(line) for rx in _STATS.values()):
            continue
        keep.append(line.removeprefix("tcpdump: "))
    return "; ".join(keep)[:500]
